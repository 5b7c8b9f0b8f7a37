"""The audit trail: every privileged action, append-only and hash-chained.

One chain for the whole deployment. Each entry names the actor, the action, its
target and the time, and links to the entry before it, so an entry cannot be
edited, removed or slipped in without breaking the chain
(:func:`parley.domain.chain.verify_links`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from parley.domain.chain import GENESIS, digest
from parley.domain.transcript import format_time


class AuditAction(StrEnum):
    AGENT_JOINED = "agent_joined"
    REPLIED = "replied"
    WARNED = "warned"
    RESOLVED = "resolved"
    CLOSED = "closed"
    BAN_LIFTED = "ban_lifted"
    STAFF_ADDED = "staff_added"
    STAFF_REVOKED = "staff_revoked"
    EVIDENCE_EXPORTED = "evidence_exported"
    ASSIGNED = "assigned"
    CANNED_REPLY_ADDED = "canned_reply_added"
    CANNED_REPLY_CHANGED = "canned_reply_changed"
    CANNED_REPLY_DELETED = "canned_reply_deleted"
    HOLD_PLACED = "hold_placed"
    HOLD_LIFTED = "hold_lifted"
    #: A copy of everything stored about one visitor was made (an access request, GDPR Art. 15).
    VISITOR_EXPORTED = "visitor_exported"
    #: Personal fields of a conversation's events were erased (GDPR Art. 17, or retention).
    ERASED = "erased"
    #: A visitor's personal data was erased on request, everywhere (GDPR Art. 17).
    VISITOR_ERASED = "visitor_erased"
    #: An admin registered a webhook endpoint, or deleted one.
    WEBHOOK_ADDED = "webhook_added"
    WEBHOOK_DELETED = "webhook_deleted"


@dataclass(frozen=True)
class Actor:
    """Who acted: a staff member, or the operator at the command line."""

    id: str
    name: str
    role: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role}


OPERATOR = Actor("operator", "operator (command line)", "operator")
#: Parley itself, acting by a setting (auto-assignment).
PARLEY = Actor("parley", "Parley", "system")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: Mapping[str, str]
    action: AuditAction
    conversation_id: str | None
    staff_id: str | None
    details: Mapping[str, Any]
    prev_hash: str
    #: Hash of the previous entry about the same conversation (GENESIS for its first;
    #: None when the entry concerns no conversation): a bundle's entries form a chain too.
    thread_prev_hash: str | None = None
    hash: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": dict(self.actor),
            "action": self.action.value,
            "conversation_id": self.conversation_id,
            "staff_id": self.staff_id,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
            "thread_prev_hash": self.thread_prev_hash,
        }

    def computed_hash(self) -> str:
        return digest(self.body())

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditEntry:
        return cls(
            seq=d["seq"],
            at=d["at"],
            actor=d["actor"],
            action=AuditAction(d["action"]),
            conversation_id=d["conversation_id"],
            staff_id=d["staff_id"],
            details=d["details"],
            prev_hash=d["prev_hash"],
            thread_prev_hash=d["thread_prev_hash"],
            hash=d["hash"],
        )


@dataclass(frozen=True)
class AuditDraft:
    """An action to record; the store places it after the current head."""

    actor: Actor
    action: AuditAction
    conversation_id: str | None = None
    staff_id: str | None = None
    details: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor.to_dict(),
            "action": self.action.value,
            "conversation_id": self.conversation_id,
            "staff_id": self.staff_id,
            "details": dict(self.details or {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditDraft:
        return cls(
            Actor(**d["actor"]),
            AuditAction(d["action"]),
            d["conversation_id"],
            d["staff_id"],
            d["details"],
        )

    def after(
        self, previous: AuditEntry | None, thread: AuditEntry | None, at: datetime
    ) -> AuditEntry:
        """The sealed entry after ``previous`` (the chain's head) and ``thread`` (the last
        entry about the same conversation); ``None`` for either means there is none."""
        thread_prev = None
        if self.conversation_id is not None:
            thread_prev = thread.hash if thread else GENESIS
        entry = AuditEntry(
            seq=previous.seq + 1 if previous else 1,
            at=format_time(at),
            actor=self.actor.to_dict(),
            action=self.action,
            conversation_id=self.conversation_id,
            staff_id=self.staff_id,
            details=dict(self.details or {}),
            prev_hash=previous.hash if previous else GENESIS,
            thread_prev_hash=thread_prev,
        )
        return replace(entry, hash=entry.computed_hash())
