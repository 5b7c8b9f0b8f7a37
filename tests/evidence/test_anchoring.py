"""Periodic anchoring reads only the conversations whose head moved, on both stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract import say, start
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness import RedisServer
from parley.bus import MemoryBus
from parley.service.core import Core
from parley.service.evidence import anchor_moved
from parley.store import open_store


@pytest.fixture(params=["sqlite", "redis"])
async def core(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[Core]:
    if request.param == "redis":
        redis_server.flush()
        store = await open_store(redis_server.url)
    else:
        store = await open_store(f"sqlite:{tmp_path / 'parley.db'}")
    yield Core(store, MemoryBus(), Ed25519PrivateKey.generate())
    await store.close()


async def test_only_heads_that_moved_are_anchored_again(core: Core) -> None:
    ids = [f"c_anchor{i:04d}" for i in range(30)]
    for i, conversation_id in enumerate(ids):
        await start(core.store, f"v_anchor{i}", conversation_id)
    assert await anchor_moved(core) == 30
    size = await core.store.tree_size()
    assert size == 30
    assert await anchor_moved(core) == 0, "nothing moved: nothing is read or appended"
    await say(core.store, ids[7], "a new message", "m1")
    assert await anchor_moved(core) == 1
    assert await core.store.tree_size() == size + 1
    [(index, leaf)] = (await core.store.leaves_of(ids[7]))[-1:]
    assert (index, leaf.seq) == (size, 2), "the moved head, at its new seq"
