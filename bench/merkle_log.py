"""The ``anchor`` scenario: what one anchor costs the Merkle log once the log is large.

One repetition appends a leaf, computes the new root and one inclusion proof —
what ``service/evidence.py`` does to anchor a head and prove it — through the
store API, in this process, with nothing else running. "Before" is the same
repetition done the way the code did it until the log kept its subtree nodes:
read every leaf hash (the query ``leaf_hashes()`` ran), then the full-list
root and proof of ``parley.domain.merkle``. It reads the hashes once for both,
where the old code read them twice, so it flatters the old way.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from loadgen import summary_ms
from parley.domain import merkle
from parley.domain.anchor import Leaf
from parley.store.base import Store, dumps
from parley.store.redis import RedisStore
from parley.store.redis_db import LEAVES, leaf_thread
from parley.store.sqlite import SQLiteStore

#: Appends queued together while building a log: SQLite commits each batch at once.
BATCH = 500
#: Leaves written to Redis per round trip while building a log.
PIPELINE = 5000

AllHashes = Callable[[int], Awaitable[list[bytes]]]


def leaves(start: int, count: int) -> Iterator[Leaf]:
    for i in range(start, start + count):
        yield Leaf(f"c_bench{i % 1000:05d}", i, f"{i:064x}", None, "2026-11-01T12:00:00.000Z")


async def sqlite_log(path: Path, size: int) -> tuple[SQLiteStore, AllHashes]:
    """A SQLite log of ``size`` leaves, appended through the store in batches."""
    store = await SQLiteStore.open(path)
    for start in range(0, size, BATCH):
        batch = leaves(start, min(BATCH, size - start))
        await asyncio.gather(*(store.append_leaf(leaf) for leaf in batch))

    async def all_hashes(n: int) -> list[bytes]:
        sql = "SELECT hash FROM leaves WHERE idx < ? ORDER BY idx"
        return await store.read(lambda: [bytes(r[0]) for r in store.db.execute(sql, (n,))])

    return store, all_hashes


async def redis_log(url: str, size: int, out: dict[str, Any]) -> tuple[RedisStore, AllHashes]:
    """A Redis log of ``size`` leaves, written without nodes; opening the store adds them.

    Appending one by one would take a minute of round trips: this also measures
    how long a store takes to give an existing log its nodes (``backfill_seconds``).
    """
    store = await RedisStore.open(url)
    for start in range(0, size, PIPELINE):
        async with store.r.pipeline(transaction=False) as pipe:
            for i, leaf in enumerate(leaves(start, min(PIPELINE, size - start)), start):
                pipe.rpush(LEAVES, dumps({"leaf": leaf.to_dict(), "hash": leaf.hash().hex()}))
                pipe.rpush(leaf_thread(leaf.conversation_id), i)
            await pipe.execute()
    await store.close()
    began = time.perf_counter()
    store = await RedisStore.open(url)
    out["backfill_seconds"] = time.perf_counter() - began

    async def all_hashes(n: int) -> list[bytes]:
        raw = await store.r.lrange(LEAVES, 0, n - 1)
        return [bytes.fromhex(json.loads(r)["hash"]) for r in raw]

    return store, all_hashes


async def repeat(store: Store, start: int, repetitions: int) -> dict[str, list[float]]:
    """Seconds per append + root + inclusion proof of a random leaf, from stored nodes,
    and per part (the append includes its durable commit)."""
    rng = random.Random(start)
    took: dict[str, list[float]] = {"total": [], "append": [], "root": [], "proof": []}
    for leaf in leaves(start, repetitions):
        began = time.perf_counter()
        size = await store.append_leaf(leaf) + 1
        appended = time.perf_counter()
        await store.merkle_root(size)
        rooted = time.perf_counter()
        await store.inclusion_proof(rng.randrange(size), size)
        proved = time.perf_counter()
        took["total"].append(proved - began)
        took["append"].append(appended - began)
        took["root"].append(rooted - appended)
        took["proof"].append(proved - rooted)
    return took


async def repeat_before(
    store: Store, all_hashes: AllHashes, start: int, repetitions: int
) -> list[float]:
    """The same, from every leaf hash; each answer is checked against the stored nodes'."""
    rng, took = random.Random(start), []
    for leaf in leaves(start, repetitions):
        began = time.perf_counter()
        size = await store.append_leaf(leaf) + 1
        hashes = await all_hashes(size)
        root, index = merkle.root(hashes), rng.randrange(size)
        proof = merkle.inclusion_proof(index, hashes)
        took.append(time.perf_counter() - began)
        assert root == await store.merkle_root(size), "stored nodes disagree with the leaves"
        assert proof == await store.inclusion_proof(index, size), "proofs disagree"
    return took


async def measure(
    store: Store, all_hashes: AllHashes, size: int, repetitions: int, before: int
) -> dict[str, Any]:
    after = await repeat(store, size, repetitions)
    old = await repeat_before(store, all_hashes, size + repetitions, before)
    return {
        "leaves": size,
        "after": summary_ms(after["total"]),
        "before": summary_ms(old),
        "parts": {part: summary_ms(after[part]) for part in ("append", "root", "proof")},
    }
