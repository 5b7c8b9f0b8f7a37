"""The SQLite file: connection, schema migrations, and the one thread that runs every query.

All database work runs on one dedicated thread, so transactions never
interleave inside the process; ``BEGIN IMMEDIATE`` and a busy timeout keep the
CLI (another process) safe beside a running server. WAL with
``synchronous=FULL`` makes every commit durable before it returns.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from parley.errors import BadRequest, StoreUnavailable

T = TypeVar("T")

#: Each entry upgrades the schema by one version (PRAGMA user_version); never edit one.
MIGRATIONS = [
    """
    CREATE TABLE IF NOT EXISTS policies (
        policy_id TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL,
        document TEXT NOT NULL, published_at TEXT NOT NULL,
        PRIMARY KEY (policy_id, version)
    );
    CREATE TABLE IF NOT EXISTS visitors (
        visitor_id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS conversations (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE, visitor_id TEXT NOT NULL, state TEXT NOT NULL,
        policy_id TEXT NOT NULL, version INTEGER NOT NULL, snapshot TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS conversations_by_visitor ON conversations (visitor_id, n);
    CREATE INDEX IF NOT EXISTS conversations_by_policy ON conversations (policy_id, version, n);
    CREATE INDEX IF NOT EXISTS conversations_by_state ON conversations (state);
    CREATE TABLE IF NOT EXISTS events (
        conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, dedupe TEXT, body TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq), UNIQUE (conversation_id, dedupe)
    );
    CREATE TABLE IF NOT EXISTS staff (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL
    );
    """,
    """
    ALTER TABLE conversations ADD COLUMN started_at TEXT;
    ALTER TABLE conversations ADD COLUMN closed_clause TEXT;
    UPDATE conversations SET started_at = json_extract(snapshot, '$.started_at');
    CREATE INDEX conversations_by_start ON conversations (started_at);
    CREATE INDEX conversations_by_clause ON conversations (closed_clause);
    ALTER TABLE staff ADD COLUMN revoked_at TEXT;
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY, conversation_id TEXT, body TEXT NOT NULL
    );
    CREATE INDEX audit_by_conversation ON audit (conversation_id, seq);
    CREATE TABLE leaves (
        idx INTEGER PRIMARY KEY, conversation_id TEXT NOT NULL, hash BLOB NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX leaves_by_conversation ON leaves (conversation_id, idx);
    CREATE TABLE checkpoints (
        tree_size INTEGER PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE bans (
        n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL
    );
    """,
]


class Database:
    """One SQLite connection, used only from its own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-sqlite")
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        self._db = db
        self._write(self._migrate)

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in script.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number}")

    async def close(self) -> None:
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._thread.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)
        except sqlite3.Error as e:
            raise StoreUnavailable(f"the embedded store could not complete the request: {e}") from e

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "store is closed"
        return self._db

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one immediate transaction: all of it commits, or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(self._write, fn)

    async def read(self, fn: Callable[[], T]) -> T:
        return await self._run(fn)

    def page(
        self, sql: str, args: tuple[Any, ...], cursor: str | None, limit: int
    ) -> tuple[list[Any], str | None]:
        """Keyset pagination: ``sql`` selects (key, body) with ``key > ?`` and ``LIMIT ?`` last."""
        if cursor is not None and not cursor.isdigit():
            raise BadRequest(f"cursor {cursor!r} is not one this listing returned")
        after = int(cursor) if cursor else 0
        rows = self.db.execute(sql, (*args, after, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [r[1] for r in rows], (str(rows[-1][0]) if more else None)
