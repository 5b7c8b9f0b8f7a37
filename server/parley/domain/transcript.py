"""Transcript events and the hash chain that links them.

Every event of a conversation has a sequence number (1, 2, 3, ...), the hash of
the event before it (:data:`GENESIS` for the first) and its own hash: SHA-256
over the canonical JSON of its fields (see :mod:`parley.domain.chain`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from parley.domain.chain import GENESIS, canonical_json, digest, verify_links

__all__ = [
    "ENDINGS", "GENESIS", "SYSTEM",
    "Author", "Event", "EventType", "Role", "canonical_json", "seal",
]  # fmt: skip


class EventType(StrEnum):
    ACCEPTANCE = "acceptance"
    MESSAGE = "message"
    AGENT_JOINED = "agent_joined"
    WARNING = "warning"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ASSIGNED = "assigned"
    #: The visitor was gone for the configured time (PARLEY_ABANDON_AFTER); Parley ended it.
    ABANDONED = "abandoned"
    #: In away mode, the visitor left an e-mail address to be answered at.
    CONTACT_LEFT = "contact_left"


#: The events that end a conversation: one at most per transcript, always its last.
ENDINGS = frozenset({EventType.RESOLVED, EventType.CLOSED, EventType.ABANDONED})


class Role(StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"
    #: Parley itself, for what the server decides on its own (an abandonment).
    SYSTEM = "system"


@dataclass(frozen=True)
class Author:
    role: Role
    id: str
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role.value, "id": self.id, "name": self.name}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Author:
        return cls(Role(d["role"]), d["id"], d.get("name"))


#: The author of events Parley records on its own.
SYSTEM = Author(Role.SYSTEM, "parley", "Parley")


def format_time(at: datetime) -> str:
    """UTC time as RFC 3339 with milliseconds and a ``Z``: the one form stored and sent.

    Always four digits of year (``strftime`` writes 999 for 0999), so stored times
    compare as strings in time order, which the listings' time filters rely on.
    """
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    """One immutable entry of a conversation's transcript."""

    conversation_id: str
    seq: int
    type: EventType
    at: str
    author: Author
    data: Mapping[str, Any]
    client_id: str | None
    prev_hash: str
    hash: str = field(default="")

    def body(self) -> dict[str, Any]:
        """Every field except ``hash``: what the hash covers."""
        return {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "type": self.type.value,
            "at": self.at,
            "author": self.author.to_dict(),
            "data": dict(self.data),
            "client_id": self.client_id,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return digest(self.body())

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Event:
        return cls(
            conversation_id=d["conversation_id"],
            seq=d["seq"],
            type=EventType(d["type"]),
            at=d["at"],
            author=Author.from_dict(d["author"]),
            data=d["data"],
            client_id=d["client_id"],
            prev_hash=d["prev_hash"],
            hash=d["hash"],
        )


def seal(
    *,
    conversation_id: str,
    seq: int,
    prev_hash: str,
    type: EventType,
    at: datetime,
    author: Author,
    data: Mapping[str, Any],
    client_id: str | None = None,
) -> Event:
    """Build the event and compute its hash."""
    draft = Event(conversation_id, seq, type, format_time(at), author, data, client_id, prev_hash)
    return replace(draft, hash=draft.computed_hash())


def verify_chain(events: Sequence[Event]) -> str | None:
    """``None`` if ``events`` form an unbroken chain from seq 1, else the first break."""
    return verify_links(events, "event")
