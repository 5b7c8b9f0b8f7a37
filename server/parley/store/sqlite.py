"""The embedded store: one SQLite file in WAL mode, every commit fsynced.

All database work runs on one dedicated thread, so transactions never
interleave inside the process; ``BEGIN IMMEDIATE`` and a busy timeout keep the
CLI (another process) safe beside a running server.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from parley.domain import policy as policy_rules
from parley.domain.agent import Staff, StaffRole
from parley.domain.conversation import Conversation, ConversationState, Transition
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Event, format_time
from parley.errors import BadRequest, ConversationNotFound, StoreUnavailable
from parley.store.base import Applied, Page, Store

T = TypeVar("T")

SCHEMA = """
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
"""


class SQLiteStore(Store):
    """A :class:`Store` on one SQLite file; see ``store/base.py`` for its guarantees."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-sqlite")
        self._db: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, path: Path) -> SQLiteStore:
        store = cls(path)
        await store._run(store._connect)
        return store

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA foreign_keys=ON")
        db.executescript(SCHEMA)
        self._db = db

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
        self.db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    # policies

    async def publish_policy(self, version: PolicyVersion, at: datetime) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT document FROM policies WHERE policy_id = ? AND version = ?",
                (version.policy_id, version.version),
            ).fetchone()
            if row is not None:
                published = policy_rules.from_document(json.loads(row[0]), "store")
                policy_rules.check_unchanged(
                    published, version, f"{version.policy_id} v{version.version}"
                )
                return False
            db.execute(
                "INSERT INTO policies VALUES (?, ?, ?, ?, ?)",
                (
                    version.policy_id,
                    version.version,
                    version.sha256,
                    json.dumps(version.to_document()),
                    format_time(at),
                ),
            )
            return True

        return await self._run(self._write, write)

    async def policies(self) -> list[PolicyVersion]:
        def read() -> list[PolicyVersion]:
            rows = self.db.execute("SELECT document FROM policies ORDER BY policy_id, version")
            return [policy_rules.from_document(json.loads(r[0]), "store") for r in rows]

        return await self._run(read)

    # visitors

    async def create_visitor(self, visitor_id: str, token_hash: str, at: datetime) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO visitors VALUES (?, ?, ?)", (visitor_id, token_hash, format_time(at))
            )

        await self._run(self._write, write)

    async def visitor_by_token(self, token_hash: str) -> str | None:
        def read() -> str | None:
            row = self.db.execute(
                "SELECT visitor_id FROM visitors WHERE token_hash = ?", (token_hash,)
            ).fetchone()
            return row[0] if row else None

        return await self._run(read)

    # conversations

    def _latest(self, visitor_id: str) -> Conversation | None:
        row = self.db.execute(
            "SELECT snapshot FROM conversations WHERE visitor_id = ? ORDER BY n DESC LIMIT 1",
            (visitor_id,),
        ).fetchone()
        return Conversation.from_dict(json.loads(row[0])) if row else None

    def _get(self, conversation_id: str) -> Conversation | None:
        row = self.db.execute(
            "SELECT snapshot FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        return Conversation.from_dict(json.loads(row[0])) if row else None

    @staticmethod
    def _insert_event(db: sqlite3.Connection, event: Event, dedupe: str | None) -> None:
        db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            (event.conversation_id, event.seq, dedupe, json.dumps(event.to_dict())),
        )

    async def start_conversation(
        self, visitor_id: str, decide: Callable[[Conversation | None], Transition]
    ) -> Applied:
        def write(db: sqlite3.Connection) -> Applied:
            t = decide(self._latest(visitor_id))
            c = t.conversation
            db.execute(
                "INSERT INTO conversations (id, visitor_id, state, policy_id, version, snapshot)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    c.id,
                    c.visitor_id,
                    c.state.value,
                    c.policy.policy_id,
                    c.policy.version,
                    json.dumps(c.to_dict()),
                ),
            )
            self._insert_event(db, t.event, None)
            return Applied(c, t.event)

        return await self._run(self._write, write)

    async def apply(
        self,
        conversation_id: str,
        decide: Callable[[Conversation], Transition | None],
        dedupe: str | None = None,
    ) -> Applied:
        def write(db: sqlite3.Connection) -> Applied:
            current = self._get(conversation_id)
            if current is None:
                raise ConversationNotFound(f"no conversation {conversation_id}")
            if dedupe is not None:
                row = db.execute(
                    "SELECT body FROM events WHERE conversation_id = ? AND dedupe = ?",
                    (conversation_id, dedupe),
                ).fetchone()
                if row is not None:
                    return Applied(current, Event.from_dict(json.loads(row[0])), duplicate=True)
            t = decide(current)
            if t is None:
                return Applied(current, None)
            db.execute(
                "UPDATE conversations SET state = ?, snapshot = ? WHERE id = ?",
                (t.conversation.state.value, json.dumps(t.conversation.to_dict()), conversation_id),
            )
            self._insert_event(db, t.event, dedupe)
            return Applied(t.conversation, t.event)

        return await self._run(self._write, write)

    async def conversation(self, conversation_id: str) -> Conversation | None:
        return await self._run(self._get, conversation_id)

    async def latest_conversation(self, visitor_id: str) -> Conversation | None:
        return await self._run(self._latest, visitor_id)

    async def open_conversations(self) -> list[Conversation]:
        def read() -> list[Conversation]:
            rows = self.db.execute(
                "SELECT snapshot FROM conversations WHERE state = ? ORDER BY n",
                (ConversationState.OPEN.value,),
            )
            return [Conversation.from_dict(json.loads(r[0])) for r in rows]

        return await self._run(read)

    async def events(
        self, conversation_id: str, after_seq: int = 0, until_seq: int | None = None
    ) -> list[Event]:
        def read() -> list[Event]:
            rows = self.db.execute(
                "SELECT body FROM events WHERE conversation_id = ? AND seq > ? AND seq <= ?"
                " ORDER BY seq",
                (conversation_id, after_seq, until_seq if until_seq is not None else 2**62),
            )
            return [Event.from_dict(json.loads(r[0])) for r in rows]

        return await self._run(read)

    # staff

    async def add_staff(self, staff: Staff, token_hash: str) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO staff VALUES (?, ?, ?, ?, ?)",
                (staff.id, staff.name, staff.role.value, token_hash, staff.created_at),
            )

        await self._run(self._write, write)

    async def staff_by_token(self, token_hash: str) -> Staff | None:
        def read() -> Staff | None:
            row = self.db.execute(
                "SELECT id, name, role, created_at FROM staff WHERE token_hash = ?", (token_hash,)
            ).fetchone()
            return Staff(row[0], row[1], StaffRole(row[2]), row[3]) if row else None

        return await self._run(read)

    async def staff(self) -> list[Staff]:
        def read() -> list[Staff]:
            rows = self.db.execute(
                "SELECT id, name, role, created_at FROM staff ORDER BY created_at"
            )
            return [Staff(r[0], r[1], StaffRole(r[2]), r[3]) for r in rows]

        return await self._run(read)

    # compliance

    def _page(self, sql: str, args: tuple[Any, ...], cursor: str | None, limit: int) -> Page[Any]:
        if cursor is not None and not cursor.isdigit():
            raise BadRequest(f"cursor {cursor!r} is not one this listing returned")
        after = int(cursor) if cursor else 0
        rows = self.db.execute(sql, (*args, after, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([json.loads(r[1]) for r in rows], str(rows[-1][0]) if more else None)

    async def acceptances_by_visitor(
        self, visitor_id: str, cursor: str | None, limit: int
    ) -> Page[Event]:
        def read() -> Page[Event]:
            page = self._page(
                "SELECT c.n, e.body FROM conversations c JOIN events e"
                " ON e.conversation_id = c.id AND e.seq = 1"
                " WHERE c.visitor_id = ? AND c.n > ? ORDER BY c.n LIMIT ?",
                (visitor_id,),
                cursor,
                limit,
            )
            return Page([Event.from_dict(d) for d in page.items], page.next_cursor)

        return await self._run(read)

    async def conversations_by_policy(
        self, policy_id: str, version: int, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        def read() -> Page[Conversation]:
            page = self._page(
                "SELECT n, snapshot FROM conversations WHERE policy_id = ? AND version = ?"
                " AND n > ? ORDER BY n LIMIT ?",
                (policy_id, version),
                cursor,
                limit,
            )
            return Page([Conversation.from_dict(d) for d in page.items], page.next_cursor)

        return await self._run(read)
