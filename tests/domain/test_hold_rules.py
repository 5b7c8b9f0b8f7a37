"""Legal holds, pure: what a hold covers, its reasons, lifting once, its audit entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import holds
from parley.domain.audit import OPERATOR, Actor, AuditAction
from parley.domain.holds import MAX_REASON_CHARS, Hold, HoldScope
from parley.errors import HoldAlreadyLifted, InvalidHoldReason

T0 = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
CLARA = Actor("s_clara", "Clara", "compliance")


def placed(scope: HoldScope, target: str, reason: str = "Case 118") -> Hold:
    return holds.place(
        hold_id="h_1", scope=scope, target=target, reason=reason, by=CLARA, at=T0
    ).hold


def test_a_conversation_hold_covers_that_conversation_and_a_visitor_hold_all_of_theirs() -> None:
    on_conversation = placed(HoldScope.CONVERSATION, "c_1")
    assert on_conversation.covers("c_1", "v_1") and on_conversation.covers("c_1", "v_other")
    assert not on_conversation.covers("c_2", "v_1")
    on_visitor = placed(HoldScope.VISITOR, "v_1")
    assert on_visitor.covers("c_1", "v_1") and on_visitor.covers("c_future", "v_1")
    assert not on_visitor.covers("c_1", "v_2")
    lifted = holds.lift(on_visitor, reason="Settled", by=OPERATOR, at=T0).hold
    assert not lifted.covers("c_1", "v_1"), "a lifted hold covers nothing"


def test_a_reason_is_required_trimmed_and_bounded() -> None:
    assert placed(HoldScope.VISITOR, "v_1", "  Case 118 \n").reason == "Case 118"
    assert len(placed(HoldScope.VISITOR, "v_1", "x" * MAX_REASON_CHARS).reason) == 500
    for bad in ("", "   \n\t", "x" * (MAX_REASON_CHARS + 1)):
        with pytest.raises(InvalidHoldReason):
            placed(HoldScope.VISITOR, "v_1", bad)
    with pytest.raises(InvalidHoldReason):
        holds.lift(placed(HoldScope.VISITOR, "v_1"), reason=" ", by=CLARA, at=T0)


def test_a_hold_is_lifted_once_and_keeps_its_record() -> None:
    hold = placed(HoldScope.CONVERSATION, "c_1")
    later = T0 + timedelta(days=3)
    lifted = holds.lift(hold, reason=" Settled ", by=OPERATOR, at=later).hold
    assert (lifted.lifted_at, lifted.lifted_by, lifted.lift_reason) == (
        "2026-12-05T18:00:00.000Z", OPERATOR.to_dict(), "Settled"
    )  # fmt: skip
    assert (lifted.reason, lifted.placed_by, lifted.placed_at) == (
        hold.reason, hold.placed_by, hold.placed_at
    )  # fmt: skip
    with pytest.raises(HoldAlreadyLifted):
        holds.lift(lifted, reason="again", by=CLARA, at=later)
    assert Hold.from_dict(lifted.to_dict()) == lifted


def test_placing_and_lifting_owe_audit_entries_in_the_right_thread() -> None:
    change = holds.place(
        hold_id="h_1", scope=HoldScope.CONVERSATION, target="c_1", reason="Case", by=CLARA, at=T0
    )
    assert (change.audit.action, change.audit.conversation_id, change.audit.actor) == (
        AuditAction.HOLD_PLACED, "c_1", CLARA
    )  # fmt: skip
    assert change.audit.details == {
        "hold_id": "h_1", "scope": "conversation", "target": "c_1", "reason": "Case"
    }  # fmt: skip
    on_visitor = holds.place(
        hold_id="h_2", scope=HoldScope.VISITOR, target="v_1", reason="Case", by=CLARA, at=T0
    )
    lifted = holds.lift(on_visitor.hold, reason="Done", by=OPERATOR, at=T0)
    assert (lifted.audit.action, lifted.audit.conversation_id, lifted.audit.details["reason"]) == (
        AuditAction.HOLD_LIFTED, None, "Done"
    )  # fmt: skip
