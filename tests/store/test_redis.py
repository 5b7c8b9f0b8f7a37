"""The store contract on the Redis backend, against a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
from contract import Reopen, StoreContract, start
from contract_bars import BarContract, check_legacy_bars_found, legacy_bars
from contract_counts import COUNTED, CountContract, check_counts, close_some, listed
from contract_history import HistoryContract

from harness import RedisServer
from parley.errors import StoreUnavailable
from parley.store import open_store
from parley.store.base import ClauseCount, Filter, Store, dumps
from parley.store.redis_db import BANS, CLOSURE_COUNTS, INDEXES


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[Store]:
    redis_server.flush()
    s = await open_store(redis_server.url)
    yield s
    await s.close()


@pytest.fixture
def reopen(redis_server: RedisServer) -> Reopen:
    async def again() -> Store:
        return await open_store(redis_server.url)

    return again


class TestRedisStore(StoreContract, BarContract, HistoryContract, CountContract):
    pass


async def test_an_unreachable_redis_is_unavailable_and_writes_nothing(
    redis_server: RedisServer,
) -> None:
    """While Redis is down, writes raise StoreUnavailable (the caller does not ack)."""
    redis_server.flush()
    s = await open_store(redis_server.url)
    redis_server.stop()
    try:
        with pytest.raises(StoreUnavailable):
            await start(s, "v_down", "c_down000000")
    finally:
        redis_server.start()
    try:
        assert await s.conversation("c_down000000") is None
        await start(s, "v_down", "c_down000000")
        assert [e.seq for e in await s.events("c_down000000")] == [1]
    finally:
        await s.close()


async def test_bars_placed_before_the_lookup_keys_are_found_after_upgrading(
    redis_server: RedisServer,
) -> None:
    """Opening the store builds the lookup keys for bars that have none, once."""
    redis_server.flush()
    with redis.Redis(port=redis_server.port) as r:
        for bar in legacy_bars():
            r.hset(BANS, bar.id, dumps(bar.to_dict()))
    s = await open_store(redis_server.url)
    try:
        await check_legacy_bars_found(s)
    finally:
        await s.close()


async def test_closure_counts_are_built_on_open_for_closures_from_before_them(
    redis_server: RedisServer,
) -> None:
    """Counts not marked as built (data from a release that kept none) are counted afresh."""
    redis_server.flush()
    s = await open_store(redis_server.url)
    try:
        await close_some(s)
    finally:
        await s.close()
    with redis.Redis(port=redis_server.port) as r:
        r.delete(CLOSURE_COUNTS)
        r.hset(CLOSURE_COUNTS, "conduct:9:9.9", 99)  # a leftover the recount must drop
        r.srem(INDEXES, "closure-counts")
    s = await open_store(redis_server.url)
    try:
        assert await s.closure_counts(Filter()) == COUNTED
        await check_counts(s)
    finally:
        await s.close()


async def test_policy_filters_read_the_kept_counts_and_opening_does_not_recount(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    s = await open_store(redis_server.url)
    try:
        await close_some(s)
    finally:
        await s.close()
    with redis.Redis(port=redis_server.port) as r:
        r.hincrby(CLOSURE_COUNTS, "conduct:1:1.1", 10)  # a mark only the kept counts carry
    s = await open_store(redis_server.url)
    try:
        assert (await s.closure_counts(Filter()))[0] == ClauseCount("conduct", 1, "1.1", 12)
        by_version = await s.closure_counts(Filter(policy_id="conduct", version=1))
        assert by_version[0] == ClauseCount("conduct", 1, "1.1", 12)
        visitor = Filter(visitor_id="v_count0")
        assert await s.closure_counts(visitor) == await listed(s, visitor), (
            "a visitor filter counts the closures themselves"
        )
    finally:
        await s.close()
