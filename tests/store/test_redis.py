"""The store contract on the Redis backend, against a real redis-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis
from contract import Reopen, StoreContract, start
from contract_merkle import OldLeaves, leaves

from harness import RedisServer
from parley.domain.anchor import Leaf
from parley.errors import StoreUnavailable
from parley.store import open_store
from parley.store.base import Store, dumps
from parley.store.redis_db import LEAVES, leaf_thread


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


@pytest.fixture
def write_old_leaves(redis_server: RedisServer) -> OldLeaves:
    """Leaves as a version from before Merkle nodes appended them: the leaf alone."""

    async def write(written: list[Leaf]) -> None:
        with redis.Redis(port=redis_server.port) as r:
            for leaf in written:
                record = dumps({"leaf": leaf.to_dict(), "hash": leaf.hash().hex()})
                index = r.rpush(LEAVES, record) - 1
                r.rpush(leaf_thread(leaf.conversation_id), index)

    return write


class TestRedisStore(StoreContract):
    pass


async def test_roots_and_proofs_read_one_entry_per_node_in_one_round_trip(
    store: Store, redis_server: RedisServer
) -> None:
    """O(log n) reads: a few LINDEX in one pipeline, never a range of the log."""
    for leaf in leaves(0, 200):
        await store.append_leaf(leaf)
    with redis.Redis(port=redis_server.port, decode_responses=True) as r:
        r.config_resetstat()
        await store.inclusion_proof(77, 200)
        stats = r.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}
    assert set(calls) <= {"llen", "lindex", "config|resetstat", "info"}, calls
    assert 0 < calls["lindex"] <= 2 * (200).bit_length()


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
