"""What retention selects, and the sweep's lease, on every backend.

A backend's test module mixes :class:`RetentionContract` into its store contract class.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from contract import T0, Reopen, start
from contract_ended import end, minute
from contract_holds import lifted, placed

from parley.domain import conversation as rules
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
