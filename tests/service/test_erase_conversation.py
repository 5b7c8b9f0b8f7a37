"""Erasing one conversation (the core of erasure on request and of retention), on SQLite and
Redis: every personal field goes, the chain holds, the erasure is recorded once after the
ending; holds keep a conversation untouched; a run interrupted anywhere is finished by the
next; format-1 events are reported, never broken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from contract import AGENT, CLIENT, T0, say, start, versions
from contract_erasure import format_1
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness import RedisServer
from parley.bus import MemoryBus
from parley.domain import conversation as rules
from parley.domain import moderation
from parley.domain.audit import OPERATOR, AuditAction
from parley.domain.erasure import erase, record_problem
from parley.domain.holds import HoldScope
from parley.domain.transcript import EventType, verify_chain
from parley.errors import ConversationNotFound, InvalidErasureBasis
from parley.service import holds
from parley.service.core import Core
from parley.service.erasure import erase_conversation
from parley.store import open_store

BASIS = "GDPR Art. 17, request 2027-004"
SECRET = "call me on 0612345678"
LATER = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "redis"])
async def core(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[Core]:
    if request.param == "redis":
        redis_server.flush()
        url = redis_server.url
    else:
        url = f"sqlite:{tmp_path / 'parley.db'}"
    store = await open_store(url)
    yield Core(store, MemoryBus(), Ed25519PrivateKey.generate(), clock=lambda: LATER)
    await store.close()


async def warned_and_resolved(core: Core, cid: str, visitor_id: str = "v_ada") -> None:
    """Acceptance, a message, the agent's reply, a warning quoting the message, resolved."""
    store = core.store
    await start(store, visitor_id, cid)
    said = await say(store, cid, SECRET, "m1")
    await store.apply(cid, lambda c: rules.agent_join(c, AGENT, T0))
    await store.apply(cid, lambda c: rules.agent_reply(c, AGENT, "please do not", "a1", T0))
    assert said.event is not None
    quoted = [said.event]
    await store.apply(
        cid, lambda c: moderation.warn(c, versions()[-1], AGENT, "1.1", "keep it civil", quoted, T0)
    )
    await store.apply(cid, lambda c: rules.resolve(c, AGENT, "sorted out", T0))


async def test_every_personal_field_is_erased_and_recorded_after_the_ending(core: Core) -> None:
    await warned_and_resolved(core, "c_erase01")
    before = await core.store.events("c_erase01")
    done = await erase_conversation(core, "c_erase01", basis=BASIS, actor=OPERATOR)

    events = await core.store.events("c_erase01")
    assert [e.hash for e in events[:-1]] == [e.hash for e in before], "hashes are unchanged"
    assert verify_chain(events) is None and record_problem(events) is None
    assert SECRET not in str([e.to_dict() for e in events])
    assert all(e.data[k] is None for e in events for k in e.salts), "no personal value is left"
    record = events[-1]
    assert (record.type, record.seq, done.record_seq) == (EventType.ERASED, 7, 7)
    assert events[5].type is EventType.RESOLVED, "the ending stays where it was"
    assert record.data["basis"] == BASIS and record.data["by"] == OPERATOR.to_dict()
    assert record.data["fields"] == [
        {"seq": 1, "fields": ["ip", "user_agent"]},
        {"seq": 2, "fields": ["text"]},
        {"seq": 4, "fields": ["text"]},
        {"seq": 5, "fields": ["messages", "note", "notice"]},
        {"seq": 6, "fields": ["note"]},
    ]
    assert [e["seq"] for e in done.erased] == [1, 2, 4, 5, 6]
    assert done.erased[1]["fields"] == {"text": events[1].erased["text"]["commitment"]}
    assert events[1].erased["text"]["commitment"] == before[1].commitments()["text"]

    conv = await core.store.conversation("c_erase01")
    assert conv is not None
    assert (conv.state.value, conv.last_seq, conv.head_hash) == ("resolved", 7, record.hash)
    assert conv.last_message is None, "the summary's preview of the text is gone too"
    await core.store.settle()
    (entry,) = [e for e in (await core.store.audit(None, 50)).items
                if e.action is AuditAction.ERASED]  # fmt: skip
    assert entry.conversation_id == "c_erase01"
    assert dict(entry.details) == {"seq": 7, "basis": BASIS, "fields": 8}


async def test_erasing_again_changes_nothing_and_records_nothing(core: Core) -> None:
    await warned_and_resolved(core, "c_again01")
    await erase_conversation(core, "c_again01", basis=BASIS, actor=OPERATOR)
    events = await core.store.events("c_again01")
    again = await erase_conversation(core, "c_again01", basis="another basis", actor=OPERATOR)
    assert (again.record_seq, again.erased) == (None, ())
    assert await core.store.events("c_again01") == events


async def test_only_the_named_fields_go_and_the_rest_later_is_recorded_apart(core: Core) -> None:
    await warned_and_resolved(core, "c_named01")
    first = await erase_conversation(
        core, "c_named01", basis="retention: addresses after 90 days", actor=OPERATOR,
        fields=frozenset({"ip", "user_agent"}),
    )  # fmt: skip
    events = await core.store.events("c_named01")
    assert first.erased == (
        {"seq": 1, "fields": {k: events[0].erased[k]["commitment"] for k in ("ip", "user_agent")}},
    )
    assert events[1].data["text"] == SECRET and events[4].data["note"] == "keep it civil"
    conv = await core.store.conversation("c_named01")
    assert conv is not None and conv.last_message is not None
    rest = await erase_conversation(core, "c_named01", basis=BASIS, actor=OPERATOR)
    events = await core.store.events("c_named01")
    assert [e.type for e in events[-2:]] == [EventType.ERASED, EventType.ERASED]
    assert [i["seq"] for i in events[-1].data["fields"]] == [2, 4, 5, 6]
    assert rest.record_seq == 8 and record_problem(events) is None


async def test_a_held_conversation_is_left_untouched(core: Core) -> None:
    await warned_and_resolved(core, "c_held001", "v_held")
    await warned_and_resolved(core, "c_free001", "v_free")
    hold = await holds.place(core, HoldScope.VISITOR, "v_held", "litigation 2027-12", OPERATOR)
    before = await core.store.events("c_held001")
    kept = await erase_conversation(core, "c_held001", basis=BASIS, actor=OPERATOR)
    assert kept.held == (hold.id,) and kept.record_seq is None
    assert await core.store.events("c_held001") == before
    freed = await erase_conversation(core, "c_free001", basis=BASIS, actor=OPERATOR)
    assert freed.held == () and freed.record_seq == 7


async def test_an_erasure_cut_short_is_finished_and_recorded_once(core: Core) -> None:
    """A crash after some events were rewritten, before the record: the next run erases the
    rest and records every field, the ones the dead run erased too."""
    await warned_and_resolved(core, "c_crash001")
    events = await core.store.events("c_crash001")
    for event in events[:2]:
        await core.store.rewrite_event(
            erase(event, event.salts, at=LATER, by=OPERATOR.id, basis=BASIS)
        )
    done = await erase_conversation(core, "c_crash001", basis=BASIS, actor=OPERATOR)
    assert [e["seq"] for e in done.erased] == [1, 2, 4, 5, 6]
    again = await erase_conversation(core, "c_crash001", basis=BASIS, actor=OPERATOR)
    assert again.record_seq is None
    records = [e for e in await core.store.events("c_crash001") if e.type is EventType.ERASED]
    assert len(records) == 1


async def test_two_erasures_at_once_record_it_once(core: Core) -> None:
    await warned_and_resolved(core, "c_race0001")
    results = await asyncio.gather(
        *(erase_conversation(core, "c_race0001", basis=BASIS, actor=OPERATOR) for _ in range(2))
    )
    events = await core.store.events("c_race0001")
    assert [e.type for e in events].count(EventType.ERASED) == 1
    assert {r.record_seq for r in results} <= {7, None} and 7 in {r.record_seq for r in results}
    assert verify_chain(events) is None and record_problem(events) is None


async def test_an_open_conversation_is_erased_and_goes_on(core: Core) -> None:
    await start(core.store, "v_open", "c_open0001")
    await say(core.store, "c_open0001", SECRET, "m1")
    await erase_conversation(core, "c_open0001", basis=BASIS, actor=OPERATOR)
    later = await say(core.store, "c_open0001", "still here", "m2")
    assert later.event is not None and later.event.seq == 4
    events = await core.store.events("c_open0001")
    assert verify_chain(events) is None and events[1].data["text"] is None


async def test_format_1_events_are_reported_and_left_as_they_were(core: Core) -> None:
    offered = versions()[-1]

    def old(previous: rules.Conversation | None) -> rules.Transition:
        t = rules.start(conversation_id="c_old00001", visitor_id="v_old", previous=previous,
                        offered=offered, answer=offered.ref, client=CLIENT, at=T0)  # fmt: skip
        event = format_1(t.event)
        return replace(t, event=event, conversation=replace(t.conversation, head_hash=event.hash))

    begun = await core.store.start_conversation("v_old", old)
    await say(core.store, "c_old00001", SECRET, "m1")
    done = await erase_conversation(core, "c_old00001", basis=BASIS, actor=OPERATOR)
    assert done.not_erasable == (1,)
    assert [e["seq"] for e in done.erased] == [2]
    events = await core.store.events("c_old00001")
    assert events[0] == begun.event and verify_chain(events) is None


async def test_a_blank_basis_or_an_unknown_conversation_changes_nothing(core: Core) -> None:
    await warned_and_resolved(core, "c_blank001")
    before = await core.store.events("c_blank001")
    with pytest.raises(InvalidErasureBasis):
        await erase_conversation(core, "c_blank001", basis="  ", actor=OPERATOR)
    with pytest.raises(InvalidErasureBasis):
        await erase_conversation(core, "c_blank001", basis="x" * 501, actor=OPERATOR)
    with pytest.raises(ConversationNotFound):
        await erase_conversation(core, "c_nobody01", basis=BASIS, actor=OPERATOR)
    assert await core.store.events("c_blank001") == before
