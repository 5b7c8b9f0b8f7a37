"""Redis keys of the signed Merkle log: leaves, perfect-subtree nodes, checkpoints.

Each level of the tree is one list, ``parley:{g}:merkle:<level>``, whose entry
``idx`` is the hash (hex) of node ``(level, idx)``: nodes of one level complete
in order, so appending them is an ``RPUSH`` in the leaf's own ``MULTI``. A root
or proof reads O(log n) entries in one pipelined round trip. Leaves that have
no nodes yet (a log from before they were kept) get them when a store opens,
and before the next leaf is appended.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from parley.domain.anchor import Checkpoint, Leaf, SignedCheckpoint
from parley.domain.merkle_nodes import CompactRange, NodeId, covering
from parley.store.base import dumps
from parley.store.redis_db import (
    CHECKPOINTS,
    LEAVES,
    TIMESTAMPS,
    Commit,
    RedisDatabase,
    cosignatures_key,
    leaf_thread,
    merkle_level,
)


class RedisMerkle(RedisDatabase):
    async def _extend(self, leaf: Leaf | None) -> int:
        """Store the nodes of any leaves that lack them, then append ``leaf`` if given.

        Returns the index ``leaf`` got (the log's size before it).
        """

        async def body(pipe: Any) -> Any:
            # Read on another connection, in one round trip: the WATCH above still
            # voids this transaction if another writer moves the log meanwhile.
            async with self.r.pipeline(transaction=False) as reads:
                reads.llen(LEAVES)
                reads.llen(merkle_level(0))
                size, covered = (int(n) for n in await reads.execute())
            hashes = []
            if covered < size:
                raw = await pipe.lrange(LEAVES, covered, size - 1)
                hashes = [bytes.fromhex(json.loads(r)["hash"]) for r in raw]
            if leaf is not None:
                hashes.append(leaf.hash())
            if not hashes:
                return size
            _, stored = await self.merkle_nodes(covering(0, covered))
            frontier = CompactRange.of(covered, stored)
            _, made = frontier.extend(hashes)
            levels: dict[int, list[str]] = {}
            for node in made:
                levels.setdefault(node.level, []).append(node.hash.hex())

            def writes(p: Any) -> None:
                if leaf is not None:
                    p.rpush(LEAVES, dumps({"leaf": leaf.to_dict(), "hash": leaf.hash().hex()}))
                    p.rpush(leaf_thread(leaf.conversation_id), size)
                for level, values in levels.items():
                    p.rpush(merkle_level(level), *values)

            return Commit(writes, size)

        async with self.chain_lock:
            index: int = await self.transaction([LEAVES, merkle_level(0)], body)
        return index

    async def append_leaf(self, leaf: Leaf) -> int:
        return await self._extend(leaf)

    async def merkle_nodes(self, nodes: Sequence[NodeId]) -> tuple[int, dict[NodeId, bytes]]:
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.llen(LEAVES)
            for level, idx in nodes:
                pipe.lindex(merkle_level(level), idx)
            size, *raw = await self.guard(pipe.execute())
        return int(size), {node: bytes.fromhex(h) for node, h in zip(nodes, raw, strict=True) if h}

    async def leaves_of(self, conversation_id: str) -> list[tuple[int, Leaf]]:
        indexes = [
            int(i) for i in await self.guard(self.r.lrange(leaf_thread(conversation_id), 0, -1))
        ]
        async with self.r.pipeline(transaction=False) as pipe:
            for i in indexes:
                pipe.lindex(LEAVES, i)
            raw = await self.guard(pipe.execute())
        return [(i, Leaf(**json.loads(r)["leaf"])) for i, r in zip(indexes, raw, strict=True)]

    async def save_checkpoint(
        self, checkpoint: Checkpoint, signature: str, note: str | None = None
    ) -> None:
        fields = {"checkpoint": checkpoint.to_dict(), "signature": signature, "note": note}
        record = dumps(fields)
        size = checkpoint.tree_size

        async def body(pipe: Any) -> Any:
            if await pipe.zcount(CHECKPOINTS, size, size):
                return None  # the first checkpoint of a size stands, as in every store
            return Commit(lambda p: p.zadd(CHECKPOINTS, {record: size}), None)

        await self.transaction([CHECKPOINTS], body)

    async def signed_checkpoint(self, tree_size: int | None = None) -> SignedCheckpoint | None:
        if tree_size is None:
            raw = await self.guard(self.r.zrange(CHECKPOINTS, -1, -1))
        else:
            raw = await self.guard(self.r.zrange(CHECKPOINTS, tree_size, tree_size, byscore=True))
        if not raw:
            return None
        record = json.loads(raw[0])
        checkpoint = Checkpoint(**record["checkpoint"])
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.smembers(cosignatures_key(checkpoint.tree_size))
            pipe.hget(TIMESTAMPS, str(checkpoint.tree_size))
            lines, timestamp = await self.guard(pipe.execute())
        return SignedCheckpoint(
            checkpoint,
            record["signature"],
            record.get("note"),
            tuple(sorted(lines)),
            timestamp,
        )

    async def add_cosignatures(self, tree_size: int, lines: Sequence[str]) -> None:
        if lines:
            await self.guard(self.r.sadd(cosignatures_key(tree_size), *lines))

    async def save_timestamp(self, tree_size: int, token: str) -> None:
        await self.guard(self.r.hsetnx(TIMESTAMPS, str(tree_size), token))
