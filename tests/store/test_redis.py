"""The store contract on the Redis backend, against a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from contract import Reopen, StoreContract, start

from harness import RedisServer
from parley.errors import StoreUnavailable
from parley.store import open_store
from parley.store.base import Store


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


class TestRedisStore(StoreContract):
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
