"""What retention selects, and the sweep's lease, on every backend.

A backend's test module mixes :class:`RetentionContract` into its store contract class.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from contract import T0, Reopen, start
from contract_bars import barred
from contract_ended import end, minute
from contract_holds import lifted, placed

from parley.domain import bans
from parley.domain import conversation as rules
from parley.domain.audit import PARLEY, AuditAction, AuditDraft
from parley.domain.bans import Ban
from parley.domain.conversation import Conversation, ConversationState
from parley.domain.holds import HoldScope
from parley.domain.transcript import format_time
from parley.store.base import Store

RESOLVED, CLOSED, ABANDONED = (
    ConversationState.RESOLVED, ConversationState.CLOSED, ConversationState.ABANDONED,
)  # fmt: skip


async def due(store: Store, state: ConversationState, before: str, limit: int = 100) -> list[str]:
    """Every page of the selection, followed by its cursors, as conversation ids."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await store.conversations_due(state, before, cursor, limit)
        assert len(page.items) <= limit
        ids += [c.id for c in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


async def abandon(store: Store, conversation_id: str, minutes: int) -> None:
    at = T0 + timedelta(minutes=minutes)
    await store.apply(conversation_id, lambda c: rules.abandon(c, format_time(T0), at))
    await store.settle()


async def snapshot(store: Store, conversation_id: str) -> Conversation:
    found = await store.conversation(conversation_id)
    assert found is not None
    return found


class RetentionContract:
    async def seed(self, store: Store) -> None:
        """Resolved at minutes 10, 20, 20, 40; closed at 15; abandoned at 25; one open."""
        for cid, minutes in (("c_r1", 10), ("c_r3", 20), ("c_r2", 20), ("c_r4", 40)):
            await start(store, f"v_{cid}", cid)
            await end(store, cid, minutes)
        await start(store, "v_c1", "c_c1")
        await end(store, "c_c1", 15, violation=True)
        await start(store, "v_a1", "c_a1")
        await abandon(store, "c_a1", 25)
        await start(store, "v_open", "c_open")

    async def test_due_are_those_of_the_state_ended_before_the_time_earliest_first(
        self, store: Store
    ) -> None:
        await self.seed(store)
        assert await due(store, RESOLVED, minute(40)) == ["c_r1", "c_r2", "c_r3"], (
            "ended before, not at, the time; ties by id"
        )
        assert await due(store, RESOLVED, minute(41)) == ["c_r1", "c_r2", "c_r3", "c_r4"]
        assert await due(store, RESOLVED, minute(10)) == []
        assert await due(store, CLOSED, minute(60)) == ["c_c1"]
        assert await due(store, ABANDONED, minute(60)) == ["c_a1"]
        assert await due(store, ConversationState.OPEN, minute(60)) == [], "never an open one"
        for limit in (1, 2, 3):
            assert await due(store, RESOLVED, minute(41), limit) == [
                "c_r1", "c_r2", "c_r3", "c_r4",
            ], f"pages of {limit} follow each other with no gap or repeat"  # fmt: skip

    async def test_a_conversation_marked_erased_is_no_longer_due(self, store: Store) -> None:
        await self.seed(store)
        await store.mark_erased(await snapshot(store, "c_r2"), T0 + timedelta(days=1))
        await store.mark_erased(await snapshot(store, "c_r2"), T0 + timedelta(days=2))
        await store.mark_erased(await snapshot(store, "c_open"), T0 + timedelta(days=2))
        assert await due(store, RESOLVED, minute(41)) == ["c_r1", "c_r3", "c_r4"]
        assert await due(store, RESOLVED, minute(41), 1) == ["c_r1", "c_r3", "c_r4"]
        await end(store, "c_open", 30)
        assert await due(store, RESOLVED, minute(41)) == ["c_r1", "c_r3", "c_open", "c_r4"], (
            "marking an open conversation did not keep it from retention once it ended"
        )

    async def test_a_held_conversation_is_never_due_until_its_holds_are_lifted(
        self, store: Store
    ) -> None:
        await self.seed(store)
        await placed(store, 1, HoldScope.CONVERSATION, "c_r1")
        await placed(store, 2, HoldScope.VISITOR, "v_c_r3")
        await placed(store, 3, HoldScope.CONVERSATION, "c_elsewhere")
        assert await due(store, RESOLVED, minute(41)) == ["c_r2", "c_r4"]
        assert await due(store, RESOLVED, minute(41), 1) == ["c_r2", "c_r4"], (
            "held ones at the front of a page do not stop the pages after it"
        )
        await lifted(store, "h_2")
        assert await due(store, RESOLVED, minute(41)) == ["c_r2", "c_r3", "c_r4"]
        await lifted(store, "h_1")
        assert await due(store, RESOLVED, minute(41)) == ["c_r1", "c_r2", "c_r3", "c_r4"]

    async def test_what_is_due_and_what_was_erased_outlive_the_process(
        self, store: Store, reopen: Reopen
    ) -> None:
        await self.seed(store)
        await store.mark_erased(await snapshot(store, "c_r1"), T0 + timedelta(days=1))
        again = await reopen()
        try:
            assert await due(again, RESOLVED, minute(41)) == ["c_r2", "c_r3", "c_r4"]
            assert await due(again, CLOSED, minute(41)) == ["c_c1"]
        finally:
            await again.close()

    async def test_one_holder_has_a_lease_at_a_time_until_it_ends_or_is_released(
        self, store: Store
    ) -> None:
        assert await store.take_lease("sweep", "p1", T0, 30)
        assert not await store.take_lease("sweep", "p2", T0 + timedelta(seconds=1), 30)
        assert await store.take_lease("sweep", "p1", T0 + timedelta(seconds=1), 30), "renewed"
        assert await store.take_lease("other", "p2", T0, 30), "leases by name"
        await store.release_lease("sweep", "p2")
        assert not await store.take_lease("sweep", "p2", T0 + timedelta(seconds=2), 30), (
            "only its holder releases a lease"
        )
        await store.release_lease("sweep", "p1")
        assert await store.take_lease("sweep", "p2", T0 + timedelta(seconds=2), 30)

    async def test_a_lease_not_renewed_in_time_goes_to_the_next_who_asks(
        self, store: Store
    ) -> None:
        assert await store.take_lease("sweep", "p1", T0, 0.05)
        await asyncio.sleep(0.2)  # Redis times leases by its own clock
        assert await store.take_lease("sweep", "p2", T0 + timedelta(seconds=1), 30)
        assert not await store.take_lease("sweep", "p1", T0 + timedelta(seconds=2), 30)


async def bars_due(store: Store, before: datetime, limit: int = 100) -> list[str]:
    """Every page of the bars due, followed by their cursors, as bar ids."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await store.bars_due(format_time(before), cursor, limit)
        assert len(page.items) <= limit
        ids += [b.id for b in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def erasure_audit(ban: Ban) -> AuditDraft:
    details = {"ban_id": ban.id, "fields": list(bans.PERSONAL), "basis": "retention"}
    return AuditDraft(PARLEY, AuditAction.ERASED, ban.conversation_id, details=details)


class BarRetentionContract:
    async def seed_bars(self, store: Store) -> None:
        """b_1: 2 h from T0 (ends T0+2h); b_2: 1 h, lifted at T0+30min; b_3: permanent;
        b_4: permanent, lifted at T0+3h; b_5: 1 h on the visitor's address."""
        await barred(store, 1, "v_b1", {"hours": 2})
        await barred(store, 2, "v_b2", {"hours": 1})
        await barred(store, 3, "v_b3", {"hours": None})
        await barred(store, 4, "v_b4", {"hours": None})
        await barred(store, 5, "v_b5", {"hours": 1, "ip": True}, ip="198.51.100.7")
        await store.lift_ban("b_2", "s_admin", "appeal upheld", T0 + timedelta(minutes=30))
        await store.lift_ban("b_4", "s_admin", "he apologised by phone", T0 + timedelta(hours=3))

    async def test_bars_are_due_once_ended_earliest_ended_first_never_while_in_force(
        self, store: Store
    ) -> None:
        await self.seed_bars(store)
        assert await bars_due(store, T0 + timedelta(minutes=30)) == []
        assert await bars_due(store, T0 + timedelta(minutes=31)) == ["b_2"], "lifted early"
        assert await bars_due(store, T0 + timedelta(hours=2)) == ["b_2", "b_5"]
        everything = ["b_2", "b_5", "b_1", "b_4"]
        assert await bars_due(store, T0 + timedelta(days=9)) == everything, "b_3 is permanent"
        for limit in (1, 2, 3):
            assert await bars_due(store, T0 + timedelta(days=9), limit) == everything

    async def test_an_erased_bar_keeps_no_address_or_reason_and_is_erased_once(
        self, store: Store
    ) -> None:
        await self.seed_bars(store)
        at = T0 + timedelta(days=30)
        (b5,) = [b for b in await store.bans() if b.id == "b_5"]
        assert b5.network == "198.51.100.7/32"
        erased = bans.erase(b5, at=at, by="parley", basis="retention")
        assert await store.erase_bar(erased, erasure_audit(erased), at) is True
        assert await store.erase_bar(erased, erasure_audit(erased), at) is False, "once"
        (stored,) = [b for b in await store.bans() if b.id == "b_5"]
        assert (stored.network, stored.lift_reason, stored.clause) == (None, None, b5.clause)
        assert stored.erased == {"at": format_time(at), "by": "parley", "basis": "retention"}
        assert await bars_due(store, T0 + timedelta(days=9)) == ["b_2", "b_1", "b_4"]
        assert await store.bars_on(None, "198.51.100.7", T0) == [], "no copy keeps the address"
        (b4,) = [b for b in await store.bans() if b.id == "b_4"]
        await store.erase_bar(bans.erase(b4, at=at, by="parley", basis="r"), erasure_audit(b4), at)
        (stored,) = [b for b in await store.bans() if b.id == "b_4"]
        assert stored.lift_reason is None and stored.lifted_at == b4.lifted_at
        entries = (await store.audit(None, 50)).items
        assert [e.details["ban_id"] for e in entries if e.action is AuditAction.ERASED] == [
            "b_5", "b_4",
        ], "one audit entry per bar erased, none for the second attempt"  # fmt: skip

    async def test_a_bar_in_force_cannot_be_erased(self) -> None:
        ban = bans.place(
            {"hours": None, "ip": True}, ban_id="b_x", visitor_id="v_x", visitor_ip="192.0.2.9",
            conversation_id="c_x", clause={"id": "1.2", "title": "t", "text": "x"},
            by="s_agent", at=T0,
        )  # fmt: skip
        with pytest.raises(ValueError, match="in force"):
            bans.erase(ban, at=T0 + timedelta(days=900), by="parley", basis="retention")
