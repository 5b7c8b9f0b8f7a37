"""The legal holds of ``parley.store.base.Store``, run against every backend.

A backend's test module mixes :class:`HoldContract` into its store contract
class (the same ``store`` and ``reopen`` fixtures).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from contract import T0, Reopen

from parley.domain import holds
from parley.domain.audit import Actor, AuditAction
from parley.domain.chain import GENESIS, verify_links
from parley.domain.holds import Hold, HoldScope
from parley.errors import BadRequest, HoldAlreadyLifted, HoldNotFound, InvalidHoldReason
from parley.store.base import Store

CLARA = Actor("s_clara", "Clara", "compliance")
DANA = Actor("s_dana", "Dana", "admin")


async def placed(store: Store, n: int, scope: HoldScope, target: str) -> Hold:
    change = holds.place(
        hold_id=f"h_{n}", scope=scope, target=target, reason=f"case {n}", by=CLARA,
        at=T0 + timedelta(minutes=n),
    )  # fmt: skip
    return await store.place_hold(change, T0 + timedelta(minutes=n))


async def every_hold(store: Store) -> dict[str, Hold]:
    return {h.id: h for h in (await store.holds(False, None, 50)).items}


async def lifted(store: Store, hold_id: str, reason: str = "case closed") -> Hold:
    at = T0 + timedelta(hours=1)
    return await store.lift_hold(
        hold_id, lambda h: holds.lift(h, reason=reason, by=DANA, at=at), at
    )


class HoldContract:
    async def test_holds_on_finds_the_active_holds_on_the_conversation_and_on_its_visitor(
        self, store: Store
    ) -> None:
        on_conversation = await placed(store, 1, HoldScope.CONVERSATION, "c_held")
        on_visitor = await placed(store, 2, HoldScope.VISITOR, "v_held")
        await placed(store, 3, HoldScope.CONVERSATION, "c_other")
        await placed(store, 4, HoldScope.VISITOR, "v_other")
        assert await store.holds_on("c_held", "v_held") == [on_conversation, on_visitor]
        assert await store.holds_on("c_later", "v_held") == [on_visitor], "future ones too"
        assert await store.holds_on("c_held", "v_nobody") == [on_conversation]
        assert await store.holds_on("c_free", "v_free") == []
        await lifted(store, "h_2")
        assert await store.holds_on("c_held", "v_held") == [on_conversation]
        await lifted(store, "h_1")
        assert await store.holds_on("c_held", "v_held") == [], "a lifted hold covers nothing"

    async def test_lifting_keeps_the_record_of_who_placed_and_lifted_it_when_and_why(
        self, store: Store
    ) -> None:
        hold = await placed(store, 1, HoldScope.CONVERSATION, "c_held")
        assert (hold.reason, hold.placed_by, hold.active) == ("case 1", CLARA.to_dict(), True)
        done = await lifted(store, "h_1", "  released by counsel  ")
        assert (done.lifted_by, done.lift_reason) == (DANA.to_dict(), "released by counsel")
        assert done.lifted_at == "2026-11-01T13:00:00.000Z"
        assert (await every_hold(store))["h_1"] == done
        assert (done.reason, done.placed_by, done.placed_at) == (
            hold.reason, hold.placed_by, hold.placed_at
        )  # fmt: skip

    async def test_placing_and_lifting_each_commit_with_their_audit_entry(
        self, store: Store
    ) -> None:
        await placed(store, 1, HoldScope.CONVERSATION, "c_held")
        await placed(store, 2, HoldScope.VISITOR, "v_held")
        await lifted(store, "h_1")
        entries = (await store.audit(None, 50)).items
        assert verify_links(entries, "audit entry") is None
        assert [(e.action, e.conversation_id, e.details["hold_id"]) for e in entries] == [
            (AuditAction.HOLD_PLACED, "c_held", "h_1"),
            (AuditAction.HOLD_PLACED, None, "h_2"),
            (AuditAction.HOLD_LIFTED, "c_held", "h_1"),
        ]
        assert entries[1].details == {
            "hold_id": "h_2", "scope": "visitor", "target": "v_held", "reason": "case 2"
        }  # fmt: skip
        assert entries[2].actor == DANA.to_dict()
        thread = (await store.audit(None, 50, "c_held")).items
        assert [e.thread_prev_hash for e in thread] == [GENESIS, thread[0].hash]

    async def test_a_refused_lift_writes_nothing(self, store: Store) -> None:
        await placed(store, 1, HoldScope.CONVERSATION, "c_held")
        done = await lifted(store, "h_1")
        before = (await store.audit(None, 50)).items
        with pytest.raises(HoldAlreadyLifted):
            await lifted(store, "h_1", "again")
        with pytest.raises(HoldNotFound):
            await lifted(store, "h_nobody")
        await placed(store, 2, HoldScope.VISITOR, "v_held")
        with pytest.raises(InvalidHoldReason):
            await lifted(store, "h_2", "   ")
        kept = await every_hold(store)
        assert kept["h_1"] == done and kept["h_2"].active
        after = (await store.audit(None, 50)).items
        assert after[: len(before)] == before and len(after) == len(before) + 1

    async def test_holds_are_listed_in_the_order_placed_active_or_all_in_pages(
        self, store: Store
    ) -> None:
        for n in range(1, 6):
            await placed(store, n, HoldScope.CONVERSATION, f"c_{n}")
        await lifted(store, "h_2")
        await lifted(store, "h_4")
        first = await store.holds(False, None, 2)
        second = await store.holds(False, first.next_cursor, 2)
        last = await store.holds(False, second.next_cursor, 2)
        assert [h.id for h in first.items + second.items + last.items] == [
            "h_1", "h_2", "h_3", "h_4", "h_5"
        ]  # fmt: skip
        assert last.next_cursor is None
        active = await store.holds(True, None, 2)
        assert [h.id for h in active.items] == ["h_1", "h_3"]
        rest = await store.holds(True, active.next_cursor, 2)
        assert ([h.id for h in rest.items], rest.next_cursor) == (["h_5"], None)
        with pytest.raises(BadRequest):
            await store.holds(True, "not-a-cursor", 2)

    async def test_holds_are_shared_by_every_process_and_never_lost_in_a_race(
        self, store: Store, reopen: Reopen
    ) -> None:
        other = await reopen()
        try:
            await asyncio.gather(
                *(placed(s, n, HoldScope.VISITOR, "v_busy") for n, s in
                  enumerate([store, other] * 5, start=1))
            )  # fmt: skip
            assert len(await store.holds_on("c_any", "v_busy")) == 10
            await lifted(other, "h_3")
            assert "h_3" not in {h.id for h in await store.holds_on("c_any", "v_busy")}
            assert len((await store.holds(False, None, 50)).items) == 10
            assert verify_links((await store.audit(None, 50)).items, "audit entry") is None
        finally:
            await other.close()
