"""The store contract on the Redis backend, against a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
from contract import Reopen, StoreContract, start
from contract_bars import BarContract, check_legacy_bars_found, legacy_bars
from contract_history import HistoryContract

from harness import RedisServer
from parley.errors import StoreUnavailable
from parley.store import open_store
from parley.store.base import Store, dumps
from parley.store.redis_db import BANS


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


class TestRedisStore(StoreContract, BarContract, HistoryContract):
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
