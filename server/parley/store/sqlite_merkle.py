"""SQLite tables of the signed Merkle log: leaves, perfect-subtree nodes, checkpoints.

``merkle_nodes`` holds the hash of every complete subtree (``level``, ``idx``),
written with the leaf that completed it; a root or proof reads O(log n) of
them by primary key. Leaves that have no nodes yet (a file from before the
table existed, or leaves an older version appended) get them when the file is
opened, and before the next leaf is appended.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from parley.domain.anchor import Checkpoint, Leaf, SignedCheckpoint
from parley.domain.merkle_nodes import CompactRange, NodeId, covering
from parley.store.base import dumps
from parley.store.sqlite_db import Database


def _log_size(db: sqlite3.Connection) -> int:
    """How many leaves the log holds: the primary key's largest value, not a count."""
    size: int = db.execute("SELECT coalesce(max(idx) + 1, 0) FROM leaves").fetchone()[0]
    return size


def _nodes_size(db: sqlite3.Connection) -> int:
    """How many leaves have their nodes stored."""
    q = "SELECT coalesce(max(idx) + 1, 0) FROM merkle_nodes WHERE level = 0"
    size: int = db.execute(q).fetchone()[0]
    return size


def _nodes(db: sqlite3.Connection, nodes: Sequence[NodeId]) -> dict[NodeId, bytes]:
    found = {}
    for node in nodes:
        row = db.execute(
            "SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?", node
        ).fetchone()
        if row is not None:
            found[node] = bytes(row[0])
    return found


def _extend(db: sqlite3.Connection, leaf: Leaf | None) -> int:
    """Store the nodes of any leaves that lack them, then append ``leaf`` if given.

    Returns the index ``leaf`` got (the log's size before it).
    """
    covered, size = _nodes_size(db), _log_size(db)
    hashes = []
    if covered < size:
        rows = db.execute("SELECT hash FROM leaves WHERE idx >= ? ORDER BY idx", (covered,))
        hashes = [bytes(r[0]) for r in rows.fetchall()]
    if leaf is not None:
        hashes.append(leaf.hash())
        db.execute(
            "INSERT INTO leaves VALUES (?, ?, ?, ?)",
            (size, leaf.conversation_id, hashes[-1], dumps(leaf.to_dict())),
        )
    frontier = CompactRange.of(covered, _nodes(db, covering(0, covered)))
    _, made = frontier.extend(hashes)
    db.executemany("INSERT INTO merkle_nodes VALUES (?, ?, ?)", made)
    return size


class MerkleTables(Database):
    def _connect(self) -> None:
        super()._connect()
        self._write(lambda db: _extend(db, None))  # nodes for a log from before they were kept

    async def append_leaf(self, leaf: Leaf) -> int:
        return await self.write(lambda db: _extend(db, leaf))

    async def merkle_nodes(self, nodes: Sequence[NodeId]) -> tuple[int, dict[NodeId, bytes]]:
        return await self.read(lambda: (_log_size(self.db), _nodes(self.db, nodes)))

    async def leaves_of(self, conversation_id: str) -> list[tuple[int, Leaf]]:
        def read() -> list[tuple[int, Leaf]]:
            rows = self.db.execute(
                "SELECT idx, body FROM leaves WHERE conversation_id = ? ORDER BY idx",
                (conversation_id,),
            )
            return [(r[0], Leaf(**json.loads(r[1]))) for r in rows]

        return await self.read(read)

    async def save_checkpoint(
        self, checkpoint: Checkpoint, signature: str, note: str | None = None
    ) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR IGNORE INTO checkpoints (tree_size, body, signature, note) "
                "VALUES (?, ?, ?, ?)",
                (checkpoint.tree_size, dumps(checkpoint.to_dict()), signature, note),
            )

        await self.write(write)

    async def signed_checkpoint(self, tree_size: int | None = None) -> SignedCheckpoint | None:
        def read() -> SignedCheckpoint | None:
            columns = "SELECT body, signature, note, cosignatures, timestamp FROM checkpoints"
            if tree_size is None:
                row = self.db.execute(f"{columns} ORDER BY tree_size DESC LIMIT 1").fetchone()
            else:
                row = self.db.execute(f"{columns} WHERE tree_size = ?", (tree_size,)).fetchone()
            if row is None:
                return None
            body, signature, note, cosignatures, timestamp = row
            checkpoint = Checkpoint(**json.loads(body))
            return SignedCheckpoint(
                checkpoint, signature, note, tuple(json.loads(cosignatures)), timestamp
            )

        return await self.read(read)

    async def add_cosignatures(self, tree_size: int, lines: Sequence[str]) -> None:
        def write(db: sqlite3.Connection) -> None:
            row = db.execute(
                "SELECT cosignatures FROM checkpoints WHERE tree_size = ?", (tree_size,)
            ).fetchone()
            if row is not None:
                kept = sorted(set(json.loads(row[0])) | set(lines))
                db.execute(
                    "UPDATE checkpoints SET cosignatures = ? WHERE tree_size = ?",
                    (dumps(kept), tree_size),
                )

        await self.write(write)

    async def save_timestamp(self, tree_size: int, token: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE checkpoints SET timestamp = ? WHERE tree_size = ? AND timestamp IS NULL",
                (token, tree_size),
            )

        await self.write(write)
