"""The store's part in transcript format 2: salts kept, erasures written over in place."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from contract import CLIENT, T0, say, start, versions

from parley.domain import conversation as rules
from parley.domain.chain import digest
from parley.domain.erasure import erase, erased_fields
from parley.domain.transcript import Event, verify_chain
from parley.store.base import Filter, Store

LATER = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def format_1(event: Event) -> Event:
    """``event`` as it was written before commitments: no format, salts or erasures."""
    old = Event(event.conversation_id, event.seq, event.type, event.at, event.author,
                event.data, event.client_id, event.prev_hash)  # fmt: skip
    return replace(old, hash=digest({k: v for k, v in old.to_dict().items() if k != "hash"}))


class ErasureContract:
    async def test_new_events_are_stored_in_format_2_with_their_salts(self, store: Store) -> None:
        begun = await start(store, "v_salts", "c_salts001")
        said = await say(store, "c_salts001", "my number is 0612345678", "m1")
        stored = await store.events("c_salts001")
        assert stored == [begun.event, said.event]
        assert [e.format for e in stored] == [2, 2]
        assert set(stored[0].salts) == {"ip", "user_agent", "page_url"}
        assert stored[1].salts == said.event.salts and len(stored[1].salts["text"]) == 32
        assert stored[1].data["text"] == "my number is 0612345678"
        assert verify_chain(stored) is None

    async def test_an_erased_event_is_written_over_and_keeps_its_hash(self, store: Store) -> None:
        begun = await start(store, "v_erase", "c_erase001")
        said = await say(store, "c_erase001", "my number is 0612345678", "m1")
        gone = erase(said.event, ["text"], at=LATER, by="s_dpo", basis="Art. 17")
        await store.rewrite_event(gone)
        acceptance = erase(begun.event, ["ip"], at=LATER, by="retention", basis="90 days")
        await store.rewrite_event(acceptance)
        stored = await store.events("c_erase001")
        assert stored == [acceptance, gone]
        assert stored[1].data["text"] is None and stored[1].salts == {}
        assert [(f.field, f.by) for f in erased_fields(stored[1])] == [("text", "s_dpo")]
        assert verify_chain(stored) is None
        assert (await store.conversation("c_erase001")).head_hash == said.event.hash  # type: ignore[union-attr]
        listed = (await store.acceptances(Filter(visitor_id="v_erase"), None, 10)).items
        assert listed == [acceptance]

    async def test_a_rewrite_that_would_break_the_chain_is_refused(self, store: Store) -> None:
        await start(store, "v_refuse", "c_refuse01")
        said = await say(store, "c_refuse01", "hello", "m1")
        edited = replace(said.event, data={"text": "goodbye"})
        with pytest.raises(ValueError, match="does not match its hash"):
            await store.rewrite_event(edited)
        resealed = replace(edited, hash=edited.computed_hash())
        with pytest.raises(ValueError, match="no event 2 of c_refuse01 with hash"):
            await store.rewrite_event(resealed)
        elsewhere = replace(said.event, seq=3)
        with pytest.raises(ValueError):
            await store.rewrite_event(replace(elsewhere, hash=elsewhere.computed_hash()))
        assert await store.events("c_refuse01", 1) == [said.event]

    async def test_format_1_events_are_stored_and_read_as_they_were(self, store: Store) -> None:
        offered = versions()[-1]

        def old(previous: rules.Conversation | None) -> rules.Transition:
            t = rules.start(conversation_id="c_format01", visitor_id="v_format", previous=previous,
                            offered=offered, answer=offered.ref, client=CLIENT, at=T0)  # fmt: skip
            event = format_1(t.event)
            return replace(
                t, event=event, conversation=replace(t.conversation, head_hash=event.hash)
            )

        begun = await store.start_conversation("v_format", old)
        said = await say(store, "c_format01", "hello", "m1")
        stored = await store.events("c_format01")
        assert stored == [begun.event, said.event]
        assert "format" not in stored[0].to_dict() and stored[1].format == 2
        assert verify_chain(stored) is None
        with pytest.raises(ValueError, match="format 1"):
            erase(stored[0], ["ip"], at=LATER, by="s", basis="b")

    async def test_a_rewrite_over_the_record_read_is_refused_once_it_changed(
        self, store: Store
    ) -> None:
        """Two erasures of one event: the second, made from the event as first read, would
        put back what the first erased; over the record read it is refused."""
        await start(store, "v_cas", "c_cas00001")
        said = await say(store, "c_cas00001", "hello", "m1")
        begun = (await store.events("c_cas00001"))[0]
        first = erase(begun, ["ip"], at=LATER, by="retention", basis="90 days")
        await store.rewrite_event(first, before=begun)
        stale = erase(begun, ["user_agent"], at=LATER, by="s_dpo", basis="Art. 17")
        with pytest.raises(ValueError, match="as it was read"):
            await store.rewrite_event(stale, before=begun)
        both = erase(first, ["user_agent"], at=LATER, by="s_dpo", basis="Art. 17")
        await store.rewrite_event(both, before=first)
        assert await store.events("c_cas00001") == [both, said.event]

    async def test_purging_keeps_every_event_as_it_is(self, store: Store) -> None:
        await start(store, "v_purge", "c_purge001")
        said = await say(store, "c_purge001", "hello", "m1")
        assert said.event is not None
        await store.rewrite_event(erase(said.event, ["text"], at=LATER, by="s", basis="b"))
        stored = await store.events("c_purge001")
        await store.settle()
        await store.purge_erased(["c_purge001"])
        assert await store.events("c_purge001") == stored
