"""The conversation state machine: acceptance gate, messages, agents, closure citing a clause."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parley import policy_files
from parley.domain import conversation as conv
from parley.domain import moderation
from parley.domain.conversation import ClientContext, Conversation, ConversationState, Transition
from parley.domain.erasure import erase
from parley.domain.policy import PolicyRef, PolicyVersion
from parley.domain.transcript import GENESIS, Author, Event, EventType, Role, verify_chain
from parley.domain.widget import read_build
from parley.errors import (
    AlreadyAccepted,
    BadEvidence,
    ConversationClosed,
    NotJoined,
    PolicyMismatch,
    UnknownClause,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
AGENT = Author(Role.AGENT, "a_ada", "Ada")
OTHER_AGENT = Author(Role.AGENT, "a_bob", "Bob")
CLIENT = ClientContext(
    ip="203.0.113.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    locale="fr-FR",
    page_url="https://shop.example/help",
    widget_build="w-2026.03.01",
    time_zone="Europe/Paris",
)


@pytest.fixture(scope="module")
def versions() -> dict[int, PolicyVersion]:
    return {v.version: v for v in policy_files.load_folder(POLICIES)}


@pytest.fixture
def v1(versions: dict[int, PolicyVersion]) -> PolicyVersion:
    return versions[1]


@pytest.fixture
def v2(versions: dict[int, PolicyVersion]) -> PolicyVersion:
    return versions[2]


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def begin(offered: PolicyVersion, conversation_id: str = "c_00000001") -> Transition:
    return conv.start(
        conversation_id=conversation_id,
        visitor_id="v_1",
        previous=None,
        offered=offered,
        answer=offered.ref,
        client=CLIENT,
        at=T0,
    )


def joined(offered: PolicyVersion) -> tuple[Conversation, list[Event]]:
    """An open conversation with one visitor message and Ada joined; and its events."""
    first = begin(offered)
    second = conv.visitor_message(first.conversation, "hello", "m1", t(1))
    third = conv.agent_join(second.conversation, AGENT, t(2))
    assert third is not None
    return third.conversation, [first.event, second.event, third.event]


# --- start: the gate (invariants 1 and 2) -------------------------------------------------


def test_acceptance_is_event_1_and_holds_the_exact_wording(v1: PolicyVersion) -> None:
    """Invariant 2: the acceptance holds full text, digest, id, version and the client facts."""
    step = begin(v1)
    event = step.event
    assert event.seq == 1
    assert event.prev_hash == GENESIS
    assert event.type is EventType.ACCEPTANCE
    assert event.author == Author(Role.VISITOR, "v_1")
    assert event.at == "2026-03-01T09:00:00.000Z"
    assert event.data == {
        "policy_id": "conduct",
        "version": 1,
        "title": v1.title,
        "sha256": v1.sha256,
        "text": v1.text,
        "document": v1.to_document(),
        "language": "en",
        "governing_language": "en",
        "governing_sha256": v1.sha256,
        "visitor_id": "v_1",
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "locale": "fr-FR",
        "page_url": "https://shop.example/help",
        "widget_build": "w-2026.03.01",
        "widget_sha256": None,
        "widget_served_sha256": None,
        "widget_stale": None,
        "time_zone": "Europe/Paris",
        "affirmation": None,
    }
    assert verify_chain([event]) is None


def test_acceptance_records_the_widget_build_weighed_against_the_served_one(
    v2: PolicyVersion,
) -> None:
    """Build on record: the served build's digest, the one the widget ran, and stale or not."""
    served = read_build(b'const BUILD = "parley-widget/2.0.0";\n')
    older = "ab" * 32
    client = replace(CLIENT, widget_build="parley-widget/1.0.0")
    for url, build, expected in [
        (f"https://chat.example/widget/{served.sha256}.js", served.build, (served.sha256, False)),
        (f"https://chat.example/widget/{older}.js", served.build, (older, True)),
        ("https://chat.example/widget.js", "parley-widget/1.0.0", (None, True)),
        ("https://chat.example/widget.js", served.build, (None, None)),
    ]:
        step = conv.start(
            conversation_id="c_00000001",
            visitor_id="v_1",
            previous=None,
            offered=v2,
            answer=v2.ref,
            client=replace(client, widget_build=build, script_url=url),
            at=T0,
            served_widget=served,
        )
        data = step.event.data
        assert (data["widget_sha256"], data["widget_stale"]) == expected, url
        assert data["widget_served_sha256"] == served.sha256
        assert data["widget_build"] == build


def test_start_opens_a_conversation_pinned_to_the_accepted_version(v1: PolicyVersion) -> None:
    """Invariant 4: the conversation records which version (by digest) was accepted."""
    begun = begin(v1)
    c = begun.conversation
    assert c.state is ConversationState.OPEN
    assert c.policy == PolicyRef("conduct", 1, v1.sha256)
    assert c.last_seq == 1
    assert c.head_hash == begun.event.hash
    assert c.waiting_since is None


@pytest.mark.parametrize(
    "field, value",
    [("version", 2), ("sha256", "0" * 64), ("policy_id", "other")],
)
def test_start_refuses_an_answer_that_does_not_echo_the_offer(
    v1: PolicyVersion, field: str, value: object
) -> None:
    """Invariant 2: a stale or wrong version/digest is refused and the offer is named."""
    answer = replace(v1.ref, **{field: value})
    with pytest.raises(PolicyMismatch) as caught:
        conv.start(
            conversation_id="c_00000001",
            visitor_id="v_1",
            previous=None,
            offered=v1,
            answer=answer,
            client=CLIENT,
            at=T0,
        )
    assert v1.sha256 in str(caught.value)


def test_start_refuses_the_digest_of_another_version(v1: PolicyVersion, v2: PolicyVersion) -> None:
    """Invariant 2: accepting v1's digest when v2 is offered is refused."""
    with pytest.raises(PolicyMismatch):
        conv.start(
            conversation_id="c_00000001",
            visitor_id="v_1",
            previous=None,
            offered=v2,
            answer=v1.ref,
            client=CLIENT,
            at=T0,
        )


def test_start_refuses_while_the_previous_conversation_is_open(v1: PolicyVersion) -> None:
    """Invariant 1: one open conversation per visitor; accepting again while open is refused."""
    previous = begin(v1).conversation
    with pytest.raises(AlreadyAccepted):
        conv.start(
            conversation_id="c_00000002",
            visitor_id="v_1",
            previous=previous,
            offered=v1,
            answer=v1.ref,
            client=CLIENT,
            at=t(5),
        )


def test_start_after_an_ended_conversation_opens_a_new_one(
    v1: PolicyVersion, v2: PolicyVersion
) -> None:
    """Invariant 1: after an end, a new acceptance (of the version now offered) starts afresh."""
    ended = conv.resolve(begin(v1).conversation, AGENT, None, t(1)).conversation
    step = conv.start(
        conversation_id="c_00000002",
        visitor_id="v_1",
        previous=ended,
        offered=v2,
        answer=v2.ref,
        client=CLIENT,
        at=t(2),
    )
    assert step.event.seq == 1
    assert step.conversation.id == "c_00000002"
    assert step.conversation.policy == v2.ref


# --- messages and agents ------------------------------------------------------------------


def test_visitor_message_appends_to_the_chain_and_waits(v1: PolicyVersion) -> None:
    """Invariant 5: each message takes the next seq and links the head; the visitor now waits."""
    start = begin(v1)
    step = conv.visitor_message(start.conversation, "my order is late", "m1", t(3))
    assert step.event.seq == 2
    assert step.event.prev_hash == start.event.hash
    assert step.event.client_id == "m1"
    assert step.event.data == {"text": "my order is late"}
    assert step.conversation.last_seq == 2
    assert step.conversation.head_hash == step.event.hash
    assert step.conversation.waiting_since == "2026-03-01T09:00:03.000Z"
    assert step.conversation.last_author is Role.VISITOR
    again = conv.visitor_message(step.conversation, "hello?", "m2", t(9))
    assert again.event.seq == 3
    assert again.conversation.waiting_since == "2026-03-01T09:00:03.000Z"
    assert verify_chain([start.event, step.event, again.event]) is None


def test_message_preview_is_capped(v1: PolicyVersion) -> None:
    """Agent list: the preview of the last message is at most PREVIEW_CHARS long."""
    text = "x" * (conv.PREVIEW_CHARS + 50)
    step = conv.visitor_message(begin(v1).conversation, text, "m1", t(1))
    assert step.conversation.last_message == "x" * conv.PREVIEW_CHARS
    assert step.event.data["text"] == text


def test_agent_join_is_recorded_once(v1: PolicyVersion) -> None:
    """Invariant 5: joining twice records nothing the second time."""
    c = begin(v1).conversation
    step = conv.agent_join(c, AGENT, t(1))
    assert step is not None
    assert step.event.type is EventType.AGENT_JOINED
    assert step.event.author == AGENT
    assert step.conversation.agents == ("a_ada",)
    assert conv.agent_join(step.conversation, AGENT, t(2)) is None
    other = conv.agent_join(step.conversation, OTHER_AGENT, t(3))
    assert other is not None
    assert other.conversation.agents == ("a_ada", "a_bob")


def test_agent_reply_requires_join(v1: PolicyVersion) -> None:
    """Least privilege: an agent who has not joined may not write in the conversation."""
    c, _ = joined(v1)
    with pytest.raises(NotJoined):
        conv.agent_reply(c, OTHER_AGENT, "hi", "r1", t(3))


def test_agent_reply_ends_the_wait(v1: PolicyVersion) -> None:
    """Agent list: a reply clears waiting_since; the chain goes on."""
    c, events = joined(v1)
    assert c.waiting_since is not None
    step = conv.agent_reply(c, AGENT, "Let me check.", "r1", t(4))
    assert step.conversation.waiting_since is None
    assert step.conversation.last_author is Role.AGENT
    assert step.event.author == AGENT
    assert step.event.seq == 4
    assert verify_chain([*events, step.event]) is None


@pytest.mark.parametrize("end", ["resolve", "close"])
def test_an_ended_conversation_refuses_everything(v1: PolicyVersion, end: str) -> None:
    """Conversation states: resolved and closed are final; writes raise ConversationClosed."""
    c, _ = joined(v1)
    if end == "resolve":
        c = conv.resolve(c, AGENT, "done", t(5)).conversation
    else:
        c = moderation.close_for_violation(c, v1, AGENT, "1.1", None, t(5)).conversation
    assert not c.is_open
    with pytest.raises(ConversationClosed):
        conv.visitor_message(c, "hello?", "m9", t(6))
    with pytest.raises(ConversationClosed):
        conv.agent_reply(c, AGENT, "hi", "r9", t(6))
    with pytest.raises(ConversationClosed):
        conv.agent_join(c, OTHER_AGENT, t(6))
    with pytest.raises(ConversationClosed):
        conv.resolve(c, AGENT, None, t(6))
    with pytest.raises(ConversationClosed):
        moderation.close_for_violation(c, v1, AGENT, "1.1", None, t(6))


def test_resolve_ends_the_conversation(v1: PolicyVersion) -> None:
    """Conversation states: resolve records a RESOLVED event with the note."""
    c, events = joined(v1)
    step = conv.resolve(c, AGENT, "refund issued", t(5))
    assert step.conversation.state is ConversationState.RESOLVED
    assert step.conversation.waiting_since is None
    assert step.event.type is EventType.RESOLVED
    assert step.event.data == {"note": "refund issued"}
    assert verify_chain([*events, step.event]) is None


# --- closure (invariant 4: cite what was accepted) ----------------------------------------


def test_closure_quotes_the_clause_of_the_accepted_version(
    v1: PolicyVersion, v2: PolicyVersion
) -> None:
    """Invariant 4: a closure cites the accepted version's clause text, not the current one."""
    assert v1.clause("1.1").text != v2.clause("1.1").text
    c, events = joined(v1)
    step = moderation.close_for_violation(c, v1, AGENT, "1.1", "insults", t(5))
    assert step.event.type is EventType.CLOSED
    assert step.event.author == AGENT
    assert step.event.data == {
        "policy_id": "conduct",
        "version": 1,
        "sha256": v1.sha256,
        "clause": {
            "id": "1.1",
            "title": "Abusive or harassing language",
            "text": v1.clause("1.1").text,
        },
        "note": "insults",
        "messages": [],
        "notice": step.event.data["notice"],
        "bar": None,
    }
    assert v1.clause("1.1").text in step.event.data["notice"]
    assert step.conversation.state is ConversationState.CLOSED
    assert step.conversation.waiting_since is None
    assert verify_chain([*events, step.event]) is None


def test_an_erased_message_cannot_be_quoted(v1: PolicyVersion) -> None:
    """A message whose text was erased is no evidence: quoting it is refused, nothing recorded."""
    c, events = joined(v1)
    gone = erase(events[1], ["text"], at=t(3), by="s_dpo", basis="request")
    with pytest.raises(BadEvidence, match="event 2's text was erased"):
        moderation.close_for_violation(c, v1, AGENT, "1.1", None, t(5), examples=[gone])
    quoted = moderation.close_for_violation(c, v1, AGENT, "1.1", None, t(5), examples=[events[1]])
    assert quoted.event.data["messages"] == [{"seq": 2, "text": "hello"}]


def test_closure_of_a_v2_conversation_quotes_v2(v2: PolicyVersion) -> None:
    """Invariant 4: the cited text follows the acceptance, whichever version it was."""
    c, _ = joined(v2)
    step = moderation.close_for_violation(c, v2, AGENT, "1.1", None, t(5))
    assert step.event.data["clause"]["text"] == v2.clause("1.1").text
    assert "Harassment includes repeated unwanted contact" in step.event.data["clause"]["text"]


def test_closure_refuses_a_clause_the_accepted_version_lacks(
    v1: PolicyVersion, v2: PolicyVersion
) -> None:
    """Invariant 4: a clause only a later version has cannot be cited; nothing is recorded."""
    v2.clause("1.4")  # exists in the current version...
    c, _ = joined(v1)
    with pytest.raises(UnknownClause):
        moderation.close_for_violation(c, v1, AGENT, "1.4", None, t(5))


def test_closure_refuses_a_version_other_than_the_accepted_one(
    v1: PolicyVersion, v2: PolicyVersion
) -> None:
    """Invariant 4: passing the version in force instead of the accepted one is a bug: refused."""
    c, _ = joined(v1)
    with pytest.raises(ValueError):
        moderation.close_for_violation(c, v2, AGENT, "1.1", None, t(5))


def test_a_second_closure_is_refused(v1: PolicyVersion) -> None:
    """Conversation states: closed is final; a second close raises ConversationClosed."""
    c, _ = joined(v1)
    closed = moderation.close_for_violation(c, v1, AGENT, "1.2", None, t(5)).conversation
    assert closed.state is ConversationState.CLOSED
    with pytest.raises(ConversationClosed):
        moderation.close_for_violation(closed, v1, AGENT, "1.1", None, t(6))


# --- the agents' list and snapshots -------------------------------------------------------


def snapshot(cid: str, waiting_since: str | None, updated_at: str) -> Conversation:
    return Conversation(
        id=cid,
        visitor_id="v_" + cid,
        policy=PolicyRef("conduct", 1, "a" * 64),
        state=ConversationState.OPEN,
        started_at="2026-03-01T08:00:00.000Z",
        updated_at=updated_at,
        last_seq=2,
        head_hash="b" * 64,
        waiting_since=waiting_since,
    )


def test_waiting_first_puts_the_longest_wait_first_then_recent_activity() -> None:
    """Agent list: waiting visitors by wait start (oldest first), then the rest newest first."""
    a = snapshot("a", None, "2026-03-01T09:00:00.000Z")
    b = snapshot("b", "2026-03-01T09:05:00.000Z", "2026-03-01T09:06:00.000Z")
    c = snapshot("c", None, "2026-03-01T09:10:00.000Z")
    d = snapshot("d", "2026-03-01T09:01:00.000Z", "2026-03-01T09:20:00.000Z")
    ordered = conv.waiting_first([x.to_dict() for x in (a, b, c, d)])
    assert [x["id"] for x in ordered] == ["d", "b", "c", "a"]
    assert conv.waiting_first([]) == []


def test_conversation_dict_round_trip(v1: PolicyVersion) -> None:
    """Store format: a conversation snapshot reads back equal through JSON."""
    c, _ = joined(v1)
    c = conv.agent_reply(c, AGENT, "hi", "r1", t(4)).conversation
    c = conv.visitor_message(c, "thanks", "m2", t(5)).conversation
    fresh = begin(v1).conversation
    closed = conv.resolve(c, AGENT, None, t(6)).conversation
    for snap in (c, fresh, closed):
        again = Conversation.from_dict(json.loads(json.dumps(snap.to_dict())))
        assert again == snap
