"""Legal holds: data kept, whatever retention or an erasure request would do to it. Pure.

A hold covers one conversation, or one visitor (every conversation of theirs,
those to come included). Compliance or admin staff place it with a reason and
lift it with another; lifting keeps the record (who, when, why) and ends the
cover. The retention sweep and erasure ask :meth:`parley.store.base.Store.holds_on`
before they touch a conversation and leave it alone while any hold covers it.
Placing and lifting each commit with their audit entry (:class:`HoldChange`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from parley.domain.audit import Actor, AuditAction, AuditDraft
from parley.domain.transcript import format_time
from parley.errors import HoldAlreadyLifted, InvalidHoldReason

#: The longest reason (for placing or lifting), in characters.
MAX_REASON_CHARS = 500


class HoldScope(StrEnum):
    CONVERSATION = "conversation"
    VISITOR = "visitor"


@dataclass(frozen=True)
class Hold:
    id: str
    scope: HoldScope
    #: The conversation id or the visitor id the hold is on, by ``scope``.
    target: str
    reason: str
    placed_at: str
    #: The actor who placed it (``{"id", "name", "role"}``).
    placed_by: Mapping[str, str]
    lifted_at: str | None = None
    lifted_by: Mapping[str, str] | None = None
    lift_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    def covers(self, conversation_id: str, visitor_id: str) -> bool:
        """Whether this hold, while active, keeps that conversation of that visitor."""
        if not self.active:
            return False
        if self.scope is HoldScope.CONVERSATION:
            return self.target == conversation_id
        return self.target == visitor_id

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scope"] = self.scope.value
        d["placed_by"] = dict(self.placed_by)
        d["lifted_by"] = dict(self.lifted_by) if self.lifted_by is not None else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Hold:
        return cls(**{**d, "scope": HoldScope(d["scope"])})


@dataclass(frozen=True)
class HoldChange:
    """A hold as placed or lifted, and the audit entry that commits with it."""

    hold: Hold
    audit: AuditDraft


def reason_text(reason: str) -> str:
    """``reason`` without surrounding blanks; InvalidHoldReason if blank or too long."""
    text = reason.strip()
    if not text:
        raise InvalidHoldReason("a hold needs a reason that is not blank")
    if len(text) > MAX_REASON_CHARS:
        raise InvalidHoldReason(f"a hold's reason is at most {MAX_REASON_CHARS} characters")
    return text


def _audit(hold: Hold, action: AuditAction, by: Actor, reason: str) -> AuditDraft:
    """The entry about a hold: a conversation hold is in that conversation's audit thread."""
    conversation_id = hold.target if hold.scope is HoldScope.CONVERSATION else None
    details = {"hold_id": hold.id, "scope": hold.scope.value, "target": hold.target}
    return AuditDraft(by, action, conversation_id, details={**details, "reason": reason})


def place(
    *, hold_id: str, scope: HoldScope, target: str, reason: str, by: Actor, at: datetime
) -> HoldChange:
    """A new hold on ``target``; raises InvalidHoldReason for a blank or overlong reason."""
    hold = Hold(
        id=hold_id,
        scope=scope,
        target=target,
        reason=reason_text(reason),
        placed_at=format_time(at),
        placed_by=by.to_dict(),
    )
    return HoldChange(hold, _audit(hold, AuditAction.HOLD_PLACED, by, hold.reason))


def lift(hold: Hold, *, reason: str, by: Actor, at: datetime) -> HoldChange:
    """``hold`` lifted; raises HoldAlreadyLifted (a hold is lifted once) or InvalidHoldReason."""
    if not hold.active:
        raise HoldAlreadyLifted(f"hold {hold.id} was already lifted at {hold.lifted_at}")
    text = reason_text(reason)
    lifted = replace(hold, lifted_at=format_time(at), lifted_by=by.to_dict(), lift_reason=text)
    return HoldChange(lifted, _audit(lifted, AuditAction.HOLD_LIFTED, by, text))
