"""The ``erased`` event: allowed after the ending without ending again, what it names, and
which erased fields it still owes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from contract import versions

from parley.domain import conversation as rules
from parley.domain.audit import OPERATOR, AuditAction
from parley.domain.conversation import ClientContext
from parley.domain.erasure import erasable, erase, record_erasure, unrecorded
from parley.domain.transcript import SYSTEM, Author, EventType, Role
from parley.errors import InvalidErasureBasis

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
AGENT = Author(Role.AGENT, "a_1", "Ada")


def resolved() -> tuple[rules.Conversation, list[rules.Event]]:
    offered = versions()[-1]
    t1 = rules.start(conversation_id="c_rec00001", visitor_id="v_1", previous=None,
                     offered=offered, answer=offered.ref,
                     client=ClientContext("192.0.2.1", "pytest"), at=T0)  # fmt: skip
    t2 = rules.visitor_message(t1.conversation, "my name is Ann", "m1", T0)
    t3 = rules.resolve(t2.conversation, AGENT, None, T0)
    return t3.conversation, [t1.event, t2.event, t3.event]


def test_a_record_follows_the_ending_without_ending_again() -> None:
    conv, _ = resolved()
    t = record_erasure(conv, {2: ["text"]}, basis=" Art. 17 ", by=OPERATOR, at=T1)
    assert (t.event.type, t.event.seq, t.event.author) == (EventType.ERASED, 4, SYSTEM)
    assert t.event.data == {"basis": "Art. 17", "by": OPERATOR.to_dict(),
                            "fields": [{"seq": 2, "fields": ["text"]}]}  # fmt: skip
    assert not t.ends, "the ended index and closure counts are not written again"
    assert (t.conversation.state, t.conversation.ended_at) == (conv.state, conv.ended_at)
    assert t.conversation.last_message is None and conv.last_message == "my name is Ann"
    assert t.audit is not None and t.audit.action is AuditAction.ERASED
    assert dict(t.audit.details or {}) == {"seq": 4, "basis": "Art. 17", "fields": 1}


def test_a_record_without_a_text_keeps_the_preview() -> None:
    conv, _ = resolved()
    t = record_erasure(conv, {1: ["ip"]}, basis="retention", by=OPERATOR, at=T1)
    assert t.conversation.last_message == "my name is Ann"


def test_a_record_needs_a_basis_and_a_field() -> None:
    conv, _ = resolved()
    with pytest.raises(InvalidErasureBasis):
        record_erasure(conv, {2: ["text"]}, basis=" \n", by=OPERATOR, at=T1)
    with pytest.raises(ValueError, match="at least one"):
        record_erasure(conv, {}, basis="Art. 17", by=OPERATOR, at=T1)


def test_what_is_owed_is_what_was_erased_and_not_yet_recorded() -> None:
    conv, events = resolved()
    events[1] = erase(events[1], ["text"], at=T1, by="s", basis="b")
    assert unrecorded(events) == {2: ["text"]}
    t = record_erasure(conv, unrecorded(events), basis="b", by=OPERATOR, at=T1)
    assert unrecorded([*events, t.event]) == {}
    events[0] = erase(events[0], ["ip"], at=T1, by="s", basis="b")
    assert unrecorded([*events, t.event]) == {1: ["ip"]}


def test_only_fields_holding_a_value_are_erasable() -> None:
    _, events = resolved()
    acceptance = events[0]
    assert acceptance.data["page_url"] is None and "page_url" in acceptance.salts
    assert erasable(acceptance, None) == {"ip", "user_agent"}
    assert erasable(acceptance, frozenset({"ip", "page_url"})) == {"ip"}
    assert erasable(replace(events[1], data={"text": None}), None) == frozenset()
