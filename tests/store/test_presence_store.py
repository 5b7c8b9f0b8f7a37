"""Presence stores, in memory and in a real Redis: one contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis

from harness import RedisServer
from parley.store.presence import MemoryPresence, PresenceStore
from parley.store.redis_presence import RedisPresence


@pytest.fixture(params=["memory", "redis"])
async def presence(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        store: PresenceStore = MemoryPresence()
    else:
        redis_server.flush()
        store = RedisPresence(redis_server.url)
    yield store
    await store.close()


async def test_entries_live_until_they_expire(presence: PresenceStore) -> None:
    await presence.put("agent", "k1", {"id": "s1"}, now=100.0, ttl=30)
    await presence.put("agent", "k2", {"id": "s2"}, now=100.0, ttl=10)
    assert await presence.live("agent", 105.0) == {"k1": {"id": "s1"}, "k2": {"id": "s2"}}
    assert await presence.live("agent", 110.0) == {"k1": {"id": "s1"}}, "k2 expired at 110"
    await presence.put("agent", "k1", {"id": "s1", "state": "away"}, now=125.0, ttl=30)
    assert await presence.live("agent", 140.0) == {"k1": {"id": "s1", "state": "away"}}
    await presence.drop("agent", "k1")
    assert await presence.live("agent", 140.0) == {}
    assert await presence.live("visitor", 140.0) == {}, "kinds are apart"


async def test_only_new_lets_exactly_one_writer_in(presence: PresenceStore) -> None:
    """The abandonment's gone mark: of many processes marking at once, the first wins."""
    won = await asyncio.gather(
        *(presence.put("gone", "c1", {"since": str(n)}, 100.0, 60, only_new=True) for n in range(8))
    )
    assert won.count(True) == 1
    [since] = [str(n) for n, ok in enumerate(won) if ok]
    assert await presence.live("gone", 120.0) == {"c1": {"since": since}}
    assert await presence.put("gone", "c1", {"since": "later"}, 161.0, 60, only_new=True), (
        "an expired mark does not block a new one"
    )


async def test_refresh_keeps_every_entry_alive_at_once(presence: PresenceStore) -> None:
    """A process's periodic refresh: thousands of entries, values replaced, expiry moved."""
    await presence.put("visitor", "w0", {"idle": False}, now=100.0, ttl=30)
    entries = {f"w{n}": {"visitor_id": f"v{n}", "idle": n % 2 == 0} for n in range(2500)}
    await presence.refresh("visitor", entries, now=120.0, ttl=30)
    assert await presence.live("visitor", 140.0) == entries, "w0 outlives its first expiry"
    assert await presence.live("visitor", 150.0) == {}
    await presence.refresh("visitor", {}, now=150.0, ttl=30)
    assert await presence.live("agent", 120.0) == {}, "kinds are apart"


async def test_refresh_on_redis_is_a_few_commands_not_one_per_entry(
    redis_server: RedisServer,
) -> None:
    """10,000 connections' entries must not cost 10,000 round trips every 10 s."""
    redis_server.flush()
    store = RedisPresence(redis_server.url)
    with redis.Redis(port=redis_server.port) as r:
        r.config_resetstat()
        entries = {f"w{n}": {"visitor_id": f"v{n}"} for n in range(10_000)}
        try:
            await store.refresh("visitor", entries, now=100.0, ttl=30)
            assert len(await store.live("visitor", 110.0)) == 10_000
        finally:
            await store.close()
        stats = r.info("commandstats")
    calls = {name: s["calls"] for name, s in stats.items() if name.startswith("cmdstat_")}
    assert calls.get("cmdstat_hset", 0) + calls.get("cmdstat_zadd", 0) <= 20, calls
    assert "cmdstat_evalsha" not in calls or calls["cmdstat_evalsha"] <= 2, calls
