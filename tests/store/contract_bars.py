"""The bar lookups of ``parley.store.base.Store``, run against every backend.

A backend's test module mixes :class:`BarContract` into its store contract
class (the same ``store`` and ``reopen`` fixtures).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from contract import AGENT, T0, Reopen, start, versions

from parley.domain import moderation
from parley.domain.bans import Ban, erased, longest, place
from parley.store.base import Store


async def barred(
    store: Store, n: int, visitor_id: str, request: dict[str, Any], ip: str = "192.0.2.1"
) -> Ban:
    """Start a conversation for ``visitor_id`` (from ``ip``) and close it placing a bar."""
    accepted = versions()[-1]
    conversation_id = f"c_bar{n:07d}"
    await start(store, visitor_id, conversation_id)
    ban = place(
        request, ban_id=f"b_{n}", visitor_id=visitor_id, visitor_ip=ip,
        conversation_id=conversation_id, clause={"id": "1.2", "title": "t", "text": "x"},
        by="s_agent", at=T0,
    )  # fmt: skip
    await store.apply(
        conversation_id,
        lambda c: replace(
            moderation.close_for_violation(c, accepted, AGENT, "1.2", None, T0), ban=ban
        ),
    )
    await store.settle()  # on Redis, bars are applied from the closure's outbox record
    return ban


async def bar_ids(store: Store, visitor_id: str | None, ip: str | None, at: datetime) -> list[str]:
    return [b.id for b in await store.bars_on(visitor_id, ip, at)]


def legacy_bars() -> list[Ban]:
    """Bars as a release before indexed bar lookups stored them (records only)."""

    def bar(n: int, **request: Any) -> Ban:
        return place(
            {"hours": None, **request}, ban_id=f"b_old{n}", visitor_id=f"v_old{n}",
            visitor_ip="198.51.100.20", conversation_id=f"c_old{n}",
            clause={"id": "1.2", "title": "t", "text": "x"}, by="s_agent", at=T0,
        )  # fmt: skip

    lifted = bar(5, network="198.51.100.0/24").lifted("s_admin", "appeal", T0)
    return [
        bar(1),
        bar(2, ip=True),
        bar(3, network="2001:db8::20/128"),
        bar(4, network="203.0.113.0/24"),
        lifted,
        bar(6, network="2001:db9::/32"),
    ]


async def check_legacy_bars_found(store: Store) -> None:
    """Every kind of bar in :func:`legacy_bars` is found through the lookups built since."""
    assert await store.bans() == legacy_bars()
    assert await bar_ids(store, "v_old1", None, T0) == ["b_old1"]
    assert await bar_ids(store, None, "198.51.100.20", T0) == ["b_old2"]
    assert await bar_ids(store, None, "2001:db8::20", T0) == ["b_old3"]
    assert await bar_ids(store, None, "203.0.113.77", T0) == ["b_old4"]
    assert await bar_ids(store, "v_old5", "198.51.100.21", T0) == [], "lifted before upgrading"
    assert await bar_ids(store, None, "2001:db9:ffff::1", T0) == ["b_old6"], "a wide IPv6 /32"


class BarContract:
    async def test_bars_apply_by_visitor_by_exact_address_and_by_network(
        self, store: Store
    ) -> None:
        by_visitor = await barred(store, 1, "v_one", {"hours": 24})
        by_address = await barred(store, 2, "v_two", {"hours": None, "ip": True}, "198.51.100.7")
        by_v6 = await barred(store, 3, "v_three", {"hours": 24, "network": "2001:db8::7/128"})
        by_block = await barred(store, 4, "v_four", {"hours": 48, "network": "203.0.113.0/24"})
        now = T0 + timedelta(hours=1)
        assert await bar_ids(store, "v_one", None, now) == [by_visitor.id]
        assert await bar_ids(store, "v_other", "198.51.100.7", now) == [by_address.id]
        assert await bar_ids(store, None, "198.51.100.8", now) == []
        assert await bar_ids(store, None, "2001:0db8:0::7", now) == [by_v6.id], (
            "an address matches however it is written"
        )
        assert await bar_ids(store, None, "2001:db8::8", now) == []
        assert await bar_ids(store, None, "203.0.113.200", now) == [by_block.id]
        assert await bar_ids(store, None, "203.0.114.1", now) == []
        assert await bar_ids(store, "v_two", "203.0.113.9", now) == [by_address.id, by_block.id]
        assert await bar_ids(store, None, "not an address", now) == []
        assert await bar_ids(store, "v_nobody", None, now) == []

    async def test_expired_and_lifted_bars_never_apply_and_the_longest_wins(
        self, store: Store
    ) -> None:
        ip = "198.51.100.9"
        day = await barred(store, 1, "v_long", {"hours": 24, "ip": True}, ip)
        forever = await barred(store, 2, "v_long", {"hours": None})
        hour = await barred(store, 3, "v_long", {"hours": 1, "network": "198.51.100.0/24"})
        soon, later = T0 + timedelta(minutes=30), T0 + timedelta(hours=2)
        applying = await store.bars_on("v_long", ip, soon)
        assert [b.id for b in applying] == [day.id, forever.id, hour.id]
        assert longest(applying) == forever
        await store.lift_ban(forever.id, "s_admin", "appeal", soon)
        assert longest(await store.bars_on("v_long", ip, soon)) == day
        assert await bar_ids(store, None, "198.51.100.10", soon) == [hour.id]
        assert await bar_ids(store, None, "198.51.100.10", later) == [], "the network bar expired"
        assert await bar_ids(store, "v_long", ip, later) == [day.id]
        await store.lift_ban(day.id, "s_admin", "appeal", later)
        assert await bar_ids(store, "v_long", ip, later) == []
        assert await bar_ids(store, "v_long", ip, T0 + timedelta(days=30)) == []

    async def test_network_bars_are_read_once_per_change_not_per_lookup(self, store: Store) -> None:
        networks = store.networks  # type: ignore[attr-defined]
        assert await bar_ids(store, "v_net", "203.0.113.1", T0) == []
        loads = networks.loads
        for _ in range(5):
            assert await bar_ids(store, "v_net", "203.0.113.1", T0) == []
        assert networks.loads == loads, "no bar changed: the cached list serves"
        block = await barred(store, 1, "v_other", {"hours": 1, "network": "203.0.113.0/24"})
        assert await bar_ids(store, "v_net", "203.0.113.1", T0) == [block.id]
        assert await bar_ids(store, "v_net", "203.0.113.1", T0) == [block.id]
        assert networks.loads == loads + 1

    async def test_a_bar_placed_or_lifted_by_another_process_applies_at_the_next_lookup(
        self, store: Store, reopen: Reopen
    ) -> None:
        """The documented bound: a change applies from the first lookup after its commit."""
        other = await reopen()
        try:
            assert await bar_ids(store, None, "203.0.113.5", T0) == []
            block = await barred(other, 1, "v_there", {"hours": 24, "network": "203.0.113.0/24"})
            assert await bar_ids(store, None, "203.0.113.5", T0) == [block.id]
            address = await barred(other, 2, "v_here", {"hours": 24, "ip": True}, "192.0.2.50")
            assert await bar_ids(store, None, "192.0.2.50", T0) == [address.id]
            await other.lift_ban(block.id, "s_admin", "appeal", T0)
            assert await bar_ids(store, None, "203.0.113.5", T0) == []
            await other.lift_ban(address.id, "s_admin", "appeal", T0)
            assert await bar_ids(store, "v_here", "192.0.2.50", T0) == []
        finally:
            await other.close()


class BarErasureContract:
    """What an erasure changes in a bar: its lift reason, and the address of one no longer in
    force, so that it leaves every lookup; a bar in force keeps applying."""

    async def test_an_erased_bar_in_force_still_applies_and_loses_nothing_else(
        self, store: Store
    ) -> None:
        ban = await barred(store, 71, "v_erase_in_force", {"hours": None, "ip": True})
        later = T0 + timedelta(hours=1)
        cleared = erased(ban, later)
        assert cleared == ban, "a bar in force has nothing personal to lose"
        assert await store.bars_on(None, "192.0.2.1", later) == [ban]

    async def test_a_lifted_bar_loses_its_reason_and_address_everywhere(self, store: Store) -> None:
        ban = await barred(store, 72, "v_erase_lifted", {"hours": None, "ip": True}, "198.51.100.9")
        lifted = await store.lift_ban(ban.id, "s_admin", "appeal granted", T0)
        assert lifted is not None
        cleared = erased(lifted, T0)
        assert (cleared.lift_reason, cleared.network, cleared.lifted_at) == (
            None, None, lifted.lifted_at
        )  # fmt: skip
        assert await store.rewrite_bar(lifted, cleared)
        assert [b for b in await store.bans() if b.id == ban.id] == [cleared]
        assert not await store.rewrite_bar(lifted, cleared), "only over the bar as read"
        assert await store.bars_on("v_erase_lifted", "198.51.100.9", T0) == []

    async def test_an_expired_bar_loses_its_address_from_the_lookups(self, store: Store) -> None:
        ban = await barred(store, 73, "v_erase_expired", {"hours": 1, "network": "203.0.113.0/24"})
        later = T0 + timedelta(hours=2)
        cleared = erased(ban, later)
        assert cleared.network is None
        assert await store.rewrite_bar(ban, cleared)
        assert [b for b in await store.bans() if b.id == ban.id] == [cleared]
        assert await store.bars_on(None, "203.0.113.5", T0) == [], "its network no longer bars"
