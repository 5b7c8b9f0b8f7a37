"""Queue and assignment: claim, join's claim, transfer, release; only the assignee acts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parley import policy_files
from parley.domain import assignment
from parley.domain import conversation as conv
from parley.domain.conversation import Assignee, ClientContext, Conversation
from parley.domain.transcript import Author, EventType, Role
from parley.errors import AlreadyAssigned, ConversationClosed, NotAssignee

POLICIES = Path(__file__).resolve().parents[2] / "policies"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
ADA = Author(Role.AGENT, "s_ada", "Ada")
BOB = Author(Role.AGENT, "s_bob", "Bob")
DAN = Author(Role.AGENT, "s_dan", "Dan Admin")


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def queued() -> Conversation:
    """An open conversation nobody holds yet: the visitor said hello."""
    offered = policy_files.load_folder(POLICIES)[0]
    started = conv.start(
        conversation_id="c_00000001",
        visitor_id="v_1",
        previous=None,
        offered=offered,
        answer=offered.ref,
        client=ClientContext(ip="203.0.113.7", user_agent="test"),
        at=T0,
    )
    return conv.visitor_message(started.conversation, "hello", "m1", t(1)).conversation


def test_a_new_conversation_waits_in_the_queue(queued: Conversation) -> None:
    assert queued.assignee is None
    assert queued.to_dict()["assignee"] is None


def test_claim_assigns_and_records_who_and_why(queued: Conversation) -> None:
    step = assignment.claim(queued, ADA, t(2))
    assert step.conversation.assignee == Assignee("s_ada", "Ada")
    assert step.event.type is EventType.ASSIGNED
    assert step.event.author == ADA
    assert step.event.data == {
        "agent": {"id": "s_ada", "name": "Ada"},
        "reason": "claimed",
        "by": {"id": "s_ada", "name": "Ada"},
    }
    assert step.event.seq == queued.last_seq + 1


def test_a_claimed_conversation_cannot_be_claimed_again(queued: Conversation) -> None:
    """The loser of a claim race decides on the winner's state and is refused."""
    held = assignment.claim(queued, ADA, t(2)).conversation
    with pytest.raises(AlreadyAssigned, match="assigned to Ada"):
        assignment.claim(held, BOB, t(3))
    with pytest.raises(AlreadyAssigned, match="already yours"):
        assignment.claim(held, ADA, t(3))


def test_join_claims_from_the_queue_and_refuses_another_agents(queued: Conversation) -> None:
    step = assignment.claim_to_join(queued, ADA, False, t(2))
    assert step is not None and step.conversation.assignee == Assignee("s_ada", "Ada")
    held = step.conversation
    assert assignment.claim_to_join(held, ADA, False, t(3)) is None, "already hers: no event"
    with pytest.raises(NotAssignee, match="assigned to Ada"):
        assignment.claim_to_join(held, BOB, False, t(3))
    assert assignment.claim_to_join(held, DAN, True, t(3)) is None, "an admin joins, not claims"


def test_only_the_assignee_or_an_admin_may_act(queued: Conversation) -> None:
    with pytest.raises(NotAssignee, match="in the queue"):
        assignment.require_assignee(queued, "s_ada", admin=False)
    held = assignment.claim(queued, ADA, t(2)).conversation
    assignment.require_assignee(held, "s_ada", admin=False)
    assignment.require_assignee(held, "s_dan", admin=True)
    with pytest.raises(NotAssignee):
        assignment.require_assignee(held, "s_bob", admin=False)


def test_transfer_by_the_assignee_names_the_new_one(queued: Conversation) -> None:
    held = assignment.claim(queued, ADA, t(2)).conversation
    step = assignment.transfer(held, ADA, False, BOB, t(3))
    assert step.conversation.assignee == Assignee("s_bob", "Bob")
    assert step.event.author == ADA
    assert step.event.data == {
        "agent": {"id": "s_bob", "name": "Bob"},
        "reason": "transferred",
        "by": {"id": "s_ada", "name": "Ada"},
    }


def test_transfer_is_refused_to_others_and_to_the_current_assignee(
    queued: Conversation,
) -> None:
    with pytest.raises(NotAssignee):
        assignment.transfer(queued, BOB, False, ADA, t(2))
    held = assignment.claim(queued, ADA, t(2)).conversation
    with pytest.raises(NotAssignee):
        assignment.transfer(held, BOB, False, BOB, t(3))
    with pytest.raises(AlreadyAssigned):
        assignment.transfer(held, ADA, False, ADA, t(3))
    by_admin = assignment.transfer(held, DAN, True, BOB, t(3))
    assert by_admin.conversation.assignee == Assignee("s_bob", "Bob")
    from_queue = assignment.transfer(queued, DAN, True, BOB, t(3))
    assert from_queue.conversation.assignee == Assignee("s_bob", "Bob")


def test_release_puts_it_back_in_the_queue(queued: Conversation) -> None:
    with pytest.raises(NotAssignee, match="in the queue already"):
        assignment.release(queued, ADA, False, t(2))
    held = assignment.claim(queued, ADA, t(2)).conversation
    with pytest.raises(NotAssignee):
        assignment.release(held, BOB, False, t(3))
    step = assignment.release(held, ADA, False, t(3))
    assert step.conversation.assignee is None
    assert step.event.data == {
        "agent": None,
        "reason": "released",
        "by": {"id": "s_ada", "name": "Ada"},
    }
    assert assignment.claim(step.conversation, BOB, t(4)).conversation.assignee.id == "s_bob"


def test_an_ended_conversation_takes_no_assignment(queued: Conversation) -> None:
    held = assignment.claim(queued, ADA, t(2)).conversation
    ended = conv.resolve(held, ADA, None, t(3)).conversation
    assert ended.assignee == Assignee("s_ada", "Ada"), "who held it stays on record"
    for change in (
        lambda: assignment.claim(replace(ended, assignee=None), BOB, t(4)),
        lambda: assignment.claim_to_join(ended, ADA, False, t(4)),
        lambda: assignment.transfer(ended, ADA, False, BOB, t(4)),
        lambda: assignment.release(ended, ADA, False, t(4)),
    ):
        with pytest.raises(ConversationClosed):
            change()


def test_assignment_events_chain_and_the_snapshot_round_trips(queued: Conversation) -> None:
    """Store format: the assignee reads back equal through JSON; the chain stays intact."""
    one = assignment.claim(queued, ADA, t(2))
    two = assignment.transfer(one.conversation, ADA, False, BOB, t(3))
    three = assignment.release(two.conversation, BOB, False, t(4))
    links = [(e.seq, e.prev_hash) for e in (one.event, two.event, three.event)]
    assert links == [
        (queued.last_seq + 1, queued.head_hash),
        (queued.last_seq + 2, one.event.hash),
        (queued.last_seq + 3, two.event.hash),
    ]
    for snap in (queued, one.conversation, two.conversation, three.conversation):
        assert Conversation.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap


def test_a_snapshot_stored_before_assignment_reads_as_unassigned(queued: Conversation) -> None:
    older = queued.to_dict()
    del older["assignee"]
    assert Conversation.from_dict(older).assignee is None


def test_least_busy_is_the_available_agent_holding_fewest_open_conversations(
    queued: Conversation,
) -> None:
    """Rule: auto-assignment picks by open load; ended ones do not count; ties go by id."""
    ada_has = [replace(queued, id=f"c_ada{i}", assignee=Assignee("s_ada", "Ada")) for i in range(2)]
    bob_has = [replace(queued, id="c_bob", assignee=Assignee("s_bob", "Bob"))]
    bob_ended = conv.resolve(bob_has[0], BOB, None, t(5)).conversation
    assert assignment.least_busy(["s_ada", "s_bob"], [*ada_has, *bob_has]) == "s_bob"
    assert assignment.least_busy(["s_ada", "s_bob"], [*ada_has, bob_ended]) == "s_bob"
    assert assignment.least_busy(["s_ada"], [*ada_has, *bob_has]) == "s_ada"
    assert assignment.least_busy(["s_bob", "s_ada"], []) == "s_ada"
    assert assignment.least_busy([], [*ada_has]) is None


def test_auto_assign_records_parley_as_author_and_never_overrides_a_claim(
    queued: Conversation,
) -> None:
    """Rule: Parley assigns only a queued, open conversation; the event says so."""
    t_auto = assignment.auto_assign(queued, ADA, t(1))
    assert t_auto is not None
    assert t_auto.conversation.assignee == Assignee("s_ada", "Ada")
    assert t_auto.event.type is EventType.ASSIGNED
    assert t_auto.event.author.role is Role.SYSTEM
    assert t_auto.event.data == {
        "agent": {"id": "s_ada", "name": "Ada"},
        "reason": "auto",
        "by": {"id": "parley", "name": "Parley"},
    }
    claimed = assignment.claim(queued, BOB, t(1)).conversation
    assert assignment.auto_assign(claimed, ADA, t(2)) is None
    ended = conv.resolve(claimed, BOB, None, t(3)).conversation
    released = replace(ended, assignee=None)
    assert assignment.auto_assign(released, ADA, t(4)) is None
