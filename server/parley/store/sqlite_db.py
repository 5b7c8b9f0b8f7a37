"""The SQLite file: connection, schema migrations, and the one thread that runs every query.

All database work runs on one dedicated thread, so transactions never
interleave inside the process; ``BEGIN IMMEDIATE`` and a busy timeout keep the
CLI (another process) safe beside a running server. WAL with
``synchronous=FULL`` makes every commit durable before it returns.

**Group commit.** Writes that arrive while the thread is busy (usually waiting
for the disk to confirm the previous commit) queue up, and the next
transaction runs them all, each inside its own ``SAVEPOINT``, with a single
``COMMIT``: one fsync for the batch instead of one per write. Every write still
runs alone against the state the writes before it left, one that fails is
rolled back to its savepoint without touching the others, and no caller hears
of success before the ``COMMIT`` that made its write durable has returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Generic, TypeVar

from parley.errors import StoreUnavailable
from parley.store.base import position_after

T = TypeVar("T")

#: Most writes one transaction takes from the queue, so a huge burst still commits in steps.
MAX_BATCH = 256

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
    # Filled from the existing leaves when the file is opened (store/sqlite_merkle.py).
    """
    CREATE TABLE merkle_nodes (
        level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;
    """,
    # Conversations whose head moved since it was last put in the Merkle log (and its seq):
    # anchoring reads these instead of every open conversation.
    """
    CREATE TABLE unanchored (conversation_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
    INSERT INTO unanchored
        SELECT id, json_extract(snapshot, '$.last_seq') FROM conversations WHERE state = 'open';
    """,
    # Bar lookups by visitor, by exact address (a /32 or /128 bar), and the wider networks;
    # ban_changes counts bars placed or lifted, so processes know when to re-read networks.
    """
    ALTER TABLE bans ADD COLUMN visitor_id TEXT;
    ALTER TABLE bans ADD COLUMN address TEXT;
    ALTER TABLE bans ADD COLUMN network TEXT;
    ALTER TABLE bans ADD COLUMN lifted_at TEXT;
    UPDATE bans SET
        visitor_id = json_extract(body, '$.visitor_id'),
        lifted_at = json_extract(body, '$.lifted_at'),
        address = CASE
            WHEN json_extract(body, '$.network') LIKE '%.%/32'
              OR json_extract(body, '$.network') LIKE '%/128'
            THEN substr(json_extract(body, '$.network'), 1,
                        instr(json_extract(body, '$.network'), '/') - 1)
        END;
    UPDATE bans SET network = json_extract(body, '$.network') WHERE address IS NULL;
    CREATE INDEX bans_by_visitor ON bans (visitor_id) WHERE lifted_at IS NULL;
    CREATE INDEX bans_by_address ON bans (address) WHERE lifted_at IS NULL;
    CREATE INDEX bans_on_networks ON bans (network) WHERE lifted_at IS NULL;
    CREATE TABLE ban_changes (n INTEGER NOT NULL);
    INSERT INTO ban_changes VALUES (0);
    """,
    # Closure counts read only the closed conversations' entries of this index.
    """
    CREATE INDEX conversations_closed ON conversations (policy_id, version, closed_clause)
        WHERE closed_clause IS NOT NULL;
    """,
    # Ended conversations, the latest ended first, for agents' search (by visitor too).
    """
    ALTER TABLE conversations ADD COLUMN ended_at TEXT;
    UPDATE conversations SET ended_at = json_extract(snapshot, '$.ended_at');
    CREATE INDEX conversations_ended ON conversations (ended_at, id) WHERE ended_at IS NOT NULL;
    CREATE INDEX conversations_ended_by_visitor ON conversations (visitor_id, ended_at, id)
        WHERE ended_at IS NOT NULL;
    """,
    # Canned replies (store/sqlite_canned.py): one row each, shortcuts unique.
    """
    CREATE TABLE canned_replies (
        id TEXT PRIMARY KEY, shortcut TEXT NOT NULL UNIQUE, body TEXT NOT NULL
    );
    """,
    # A checkpoint's C2SP signed note, the witnesses' cosignatures on it (a JSON list of
    # signature lines) and an RFC 3161 time-stamp token over it.
    """
    ALTER TABLE checkpoints ADD COLUMN note TEXT;
    ALTER TABLE checkpoints ADD COLUMN cosignatures TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE checkpoints ADD COLUMN timestamp TEXT;
    """,
    # Legal holds (store/sqlite_holds.py): every hold ever placed, in the order placed;
    # the active ones indexed by what they cover, for retention and erasure to ask.
    """
    CREATE TABLE holds (
        n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, scope TEXT NOT NULL,
        target TEXT NOT NULL, lifted_at TEXT, body TEXT NOT NULL
    );
    CREATE INDEX holds_in_force ON holds (scope, target) WHERE lifted_at IS NULL;
    CREATE INDEX holds_active ON holds (n) WHERE lifted_at IS NULL;
    """,
    # Retention (store/sqlite_retention.py): when retention erased an ended conversation,
    # the ended ones not yet erased by state and end, the leases that keep two sweeps from
    # doing the same work, and the ended bars not yet erased by when they ended.
    """
    ALTER TABLE conversations ADD COLUMN erased_at TEXT;
    CREATE INDEX conversations_to_erase ON conversations (state, ended_at, id)
        WHERE ended_at IS NOT NULL AND erased_at IS NULL;
    CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until TEXT NOT NULL);
    ALTER TABLE bans ADD COLUMN ended_at TEXT GENERATED ALWAYS AS (
        CASE WHEN lifted_at IS NOT NULL
              AND (json_extract(body, '$.until') IS NULL
                   OR lifted_at < json_extract(body, '$.until'))
        THEN lifted_at ELSE json_extract(body, '$.until') END
    ) VIRTUAL;
    ALTER TABLE bans ADD COLUMN erased_at TEXT GENERATED ALWAYS AS (
        json_extract(body, '$.erased.at')
    ) VIRTUAL;
    CREATE INDEX bans_to_erase ON bans (ended_at, n)
        WHERE ended_at IS NOT NULL AND erased_at IS NULL;
    """,
    # Webhooks (store/sqlite_webhooks.py): endpoints; the journal of notices, written with
    # the commits that owe them; how far fan-out has read it; the deliveries, the pending
    # ones indexed by when they are due, each endpoint's log by number.
    """
    CREATE TABLE webhook_endpoints (
        n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, deleted_at TEXT,
        body TEXT NOT NULL
    );
    CREATE TABLE webhook_notices (
        n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, body TEXT NOT NULL
    );
    CREATE TABLE webhook_fan_out (position INTEGER NOT NULL);
    INSERT INTO webhook_fan_out VALUES (0);
    CREATE TABLE webhook_deliveries (
        n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
        endpoint_id TEXT NOT NULL, state TEXT NOT NULL, next_at TEXT, tries INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at, n)
        WHERE state = 'pending';
    CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, n);
    """,
]


class Database:
    """One SQLite connection, used only from its own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-sqlite")
        self._db: sqlite3.Connection | None = None
        # Writes waiting for the next group commit, and whether one is already on its way.
        self._queue: list[_Write[Any]] = []
        self._queue_lock = threading.Lock()
        self._flush_queued = False
        #: Transactions committed by group commit, one fsync each (writes / commits = batch size).
        self.commits = 0

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        # What a write frees (an erased value's old bytes) is zeroed, not left in free space.
        db.execute("PRAGMA secure_delete=ON")
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
            raise _unavailable(e) from e

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None, "store is closed"
        return self._db

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` alone in one immediate transaction (schema migrations)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in a transaction; return once it is durably committed (group commit)."""
        loop = asyncio.get_running_loop()
        job: _Write[T] = _Write(fn, loop)
        with self._queue_lock:
            self._queue.append(job)
            start = not self._flush_queued
            self._flush_queued = True
        if start:
            self._thread.submit(self._flush)
        return await job.future

    def _flush(self) -> None:
        """On the database thread: commit one batch, then queue another flush if writes wait.

        The next flush goes to the back of the thread's queue, so reads that
        arrived meanwhile are not starved by a steady stream of writes.
        """
        with self._queue_lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        self._commit(batch)
        with self._queue_lock:
            self._flush_queued = bool(self._queue)
            if self._flush_queued:
                self._thread.submit(self._flush)

    def _commit(self, batch: list[_Write[Any]]) -> None:
        if (db := self._db) is None:
            closed = StoreUnavailable("the embedded store is closed")
            done: list[tuple[_Write[Any], Any, BaseException | None]]
            done = [(job, None, closed) for job in batch]
        else:
            done = self._run_batch(db, batch)
        for job, result, error in done:
            job.loop.call_soon_threadsafe(job.settle, result, error)

    def _run_batch(
        self, db: sqlite3.Connection, batch: list[_Write[Any]]
    ) -> list[tuple[_Write[Any], Any, BaseException | None]]:
        """One transaction, a savepoint per write; what each write's caller should hear."""
        done: list[tuple[_Write[Any], Any, BaseException | None]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for job in batch:
                db.execute("SAVEPOINT write")
                try:
                    result = job.fn(db)
                except Exception as e:
                    db.execute("ROLLBACK TO write")
                    done.append((job, None, _unavailable(e) if isinstance(e, sqlite3.Error) else e))
                else:
                    done.append((job, result, None))
                db.execute("RELEASE write")
            db.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as e:
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            failed = _unavailable(e)
            done = [(job, None, failed) for job in batch]
            self.rolled_back()
        return done

    def rolled_back(self) -> None:
        """A whole batch was undone: forget anything remembered from its writes."""

    async def read(self, fn: Callable[[], T]) -> T:
        return await self._run(fn)

    def page(
        self, sql: str, args: tuple[Any, ...], cursor: str | None, limit: int
    ) -> tuple[list[Any], str | None]:
        """Keyset pagination: ``sql`` selects (key, body) with ``key > ?`` and ``LIMIT ?`` last."""
        return self.rows_page(sql, (*args, position_after(cursor)), limit)

    def rows_page(
        self, sql: str, args: tuple[Any, ...], limit: int
    ) -> tuple[list[Any], str | None]:
        """Up to ``limit`` bodies of ``sql``'s (key, body) rows (``LIMIT ?`` last), and the key
        of the last one if more follow: the position the next page starts after."""
        rows = self.db.execute(sql, (*args, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [r[1] for r in rows], (str(rows[-1][0]) if more else None)


def _unavailable(e: sqlite3.Error) -> StoreUnavailable:
    return StoreUnavailable(f"the embedded store could not complete the request: {e}")


class _Write(Generic[T]):
    """One queued write: the work, and the future its caller awaits on its own loop."""

    def __init__(self, fn: Callable[[sqlite3.Connection], T], loop: asyncio.AbstractEventLoop):
        self.fn = fn
        self.loop = loop
        self.future: asyncio.Future[T] = loop.create_future()

    def settle(self, result: Any, error: BaseException | None) -> None:
        if self.future.cancelled():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(result)
