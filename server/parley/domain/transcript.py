"""Transcript events and the hash chain that links them.

Every event of a conversation has a sequence number (1, 2, 3, ...), the hash of
the event before it (:data:`GENESIS` for the first) and its own hash: SHA-256
over the canonical JSON of its fields (see :mod:`parley.domain.chain`).

Two formats, marked per event. Format 1 (events without a ``format`` field, all
written before commitments) hashes every field but ``hash`` as stored. Format 2
(``"format": 2``, every event written since) hashes, instead of each personal
value (:data:`PERSONAL`), its salted commitment: SHA-256 of the 16 salt bytes
followed by the canonical JSON of the value. The stored event keeps the values
and their ``salts``; an erased field keeps only its commitment, in ``erased``
(see :mod:`parley.domain.erasure`), so its hash, and every proof built on it,
still holds.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from parley.domain.chain import GENESIS, canonical_json, digest, verify_links

__all__ = [
    "ENDINGS", "FORMAT", "GENESIS", "PERSONAL", "SYSTEM",
    "Author", "Event", "EventType", "Role", "canonical_json", "commitment", "new_salt", "seal",
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
    #: Personal fields of earlier events were erased (by request or retention): which, and
    #: under which basis. The one event that may follow the conversation's ending.
    ERASED = "erased"


#: The events that end a conversation: one at most per transcript, and only erasure
#: records (:attr:`EventType.ERASED`) come after it.
ENDINGS = frozenset({EventType.RESOLVED, EventType.CLOSED, EventType.ABANDONED})


#: The transcript format every new event is written in (format 1 has no ``format`` field).
FORMAT = 2

#: The personal fields of each event type's ``data``: what format 2 commits to rather than
#: hashes, and what erasure may remove. A warning's or closure's ``notice`` is among them
#: because it repeats the quoted messages. Everything else (the accepted policy text, clause
#: texts, ids, times, hashes) is not personal and is never erased.
PERSONAL: Mapping[EventType, frozenset[str]] = {
    EventType.ACCEPTANCE: frozenset({"ip", "user_agent", "page_url"}),
    EventType.MESSAGE: frozenset({"text"}),
    EventType.CONTACT_LEFT: frozenset({"email"}),
    EventType.WARNING: frozenset({"note", "messages", "notice"}),
    EventType.CLOSED: frozenset({"note", "messages", "notice"}),
    EventType.RESOLVED: frozenset({"note"}),
}

#: Bytes of randomness in each salt (written as twice as many lowercase hex digits).
SALT_BYTES = 16


def new_salt() -> str:
    """A fresh random salt, as lowercase hex: the one draw of randomness of the domain."""
    return secrets.token_hex(SALT_BYTES)


def commitment(salt: str, value: Any) -> str:
    """Hex SHA-256 of the salt's bytes followed by the canonical JSON of ``value``."""
    return hashlib.sha256(bytes.fromhex(salt) + canonical_json(value)).hexdigest()


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
    """One immutable entry of a conversation's transcript.

    In format 2, ``salts`` maps each personal field present in ``data`` to its
    salt, and ``erased`` each erased one to ``{"commitment", "at", "by",
    "basis"}`` (its value in ``data`` is then ``None``); a field is in one or
    the other. Format 1 events have neither.
    """

    conversation_id: str
    seq: int
    type: EventType
    at: str
    author: Author
    data: Mapping[str, Any]
    client_id: str | None
    prev_hash: str
    hash: str = field(default="")
    format: int = 1
    salts: Mapping[str, str] = field(default_factory=dict)
    erased: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def commitments(self) -> dict[str, str]:
        """Format 2: each personal field's commitment, computed or kept by its erasure."""
        made = {name: commitment(salt, self.data[name]) for name, salt in self.salts.items()}
        return made | {name: record["commitment"] for name, record in self.erased.items()}

    def body(self) -> dict[str, Any]:
        """What the hash covers: in format 1 every field but ``hash``; in format 2 the
        same with each personal field moved out of ``data`` into ``commitments``."""
        if self.format == 1:
            return self._fields()
        committed = {*self.salts, *self.erased}
        return {
            **self._fields(),
            "format": self.format,
            "data": {k: v for k, v in self.data.items() if k not in committed},
            "commitments": self.commitments(),
        }

    def _fields(self) -> dict[str, Any]:
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
        """The stored record: values, and in format 2 their salts and erasures."""
        if self.format == 1:
            return {**self._fields(), "hash": self.hash}
        extra = {"salts": dict(self.salts), "erased": {k: dict(v) for k, v in self.erased.items()}}
        return {**self._fields(), "format": self.format, "hash": self.hash, **extra}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Event:
        if "format" in d:
            return replace(
                cls.from_dict(
                    {k: v for k, v in d.items() if k not in ("format", "salts", "erased")}
                ),
                format=d["format"],
                salts=d["salts"],
                erased=d["erased"],
            )
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
    salts: Mapping[str, str] | None = None,
) -> Event:
    """Build the event, in the current :data:`FORMAT`, and compute its hash.

    Each personal field of ``data`` gets a fresh salt unless ``salts`` gives them.
    """
    if salts is None:
        salts = {name: new_salt() for name in PERSONAL.get(type, ()) if name in data}
    draft = Event(
        conversation_id, seq, type, format_time(at), author, data, client_id, prev_hash,
        format=FORMAT, salts=salts,
    )  # fmt: skip
    return replace(draft, hash=draft.computed_hash())


def verify_chain(events: Sequence[Event]) -> str | None:
    """``None`` if ``events`` form an unbroken chain from seq 1, else the first break."""
    return verify_links(events, "event")
