"""SQLite tables of the records compliance relies on: audit trail and listings."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from parley.domain.audit import AuditDraft, AuditEntry
from parley.domain.conversation import Conversation
from parley.domain.transcript import Event, EventType
from parley.store.base import (
    ClauseCount,
    EndedFilter,
    Filter,
    Page,
    PastConversation,
    dumps,
    position_after,
)
from parley.store.sqlite_db import Database

#: When a conversation started (its acceptance), and when it ended (a closure's time).
STARTED = "c.started_at"
ENDED = "json_extract(c.snapshot, '$.ended_at')"


def _where(f: Filter, time: str) -> tuple[str, list[Any]]:
    """SQL conditions on ``conversations c`` for a compliance filter; ``since`` and
    ``until`` apply to ``time``."""
    conditions, args = [], []
    for column, value in (
        ("c.visitor_id", f.visitor_id),
        ("c.policy_id", f.policy_id),
        ("c.version", f.version),
        ("c.closed_clause", f.clause_id),
    ):
        if value is not None:
            conditions.append(f"{column} = ?")
            args.append(value)
    if f.since is not None:
        conditions.append(f"{time} >= ?")
        args.append(f.since)
    if f.until is not None:
        conditions.append(f"{time} < ?")
        args.append(f.until)
    return "".join(f" AND {c}" for c in conditions), args


class RecordTables(Database):
    # compliance listings

    def _events_page(
        self, event_sql: str, where: Filter, cursor: str | None, limit: int, time: str
    ) -> Page[Event]:
        conditions, args = _where(where, time)
        items, next_cursor = self.page(
            f"SELECT c.n, e.body FROM conversations c JOIN events e ON e.conversation_id = c.id"
            f" AND {event_sql} WHERE 1 = 1{conditions} AND c.n > ? ORDER BY c.n LIMIT ?",
            tuple(args),
            cursor,
            limit,
        )
        return Page([Event.from_dict(json.loads(body)) for body in items], next_cursor)

    async def acceptances(self, where: Filter, cursor: str | None, limit: int) -> Page[Event]:
        first = "e.seq = 1"
        return await self.read(lambda: self._events_page(first, where, cursor, limit, STARTED))

    async def closures(self, where: Filter, cursor: str | None, limit: int) -> Page[Event]:
        # A closure is the one `closed` event of a closed conversation (erasure records, which
        # an erasure appends after the ending, come later).
        closing = "c.state = 'closed' AND json_extract(e.body, '$.type') = 'closed'"
        return await self.read(lambda: self._events_page(closing, where, cursor, limit, ENDED))

    async def closure_counts(self, where: Filter) -> list[ClauseCount]:
        conditions, args = _where(where, ENDED)

        def read() -> list[ClauseCount]:
            rows = self.db.execute(
                "SELECT c.policy_id, c.version, c.closed_clause, count(*) FROM conversations c"
                f" WHERE c.closed_clause IS NOT NULL{conditions}"
                " GROUP BY c.policy_id, c.version, c.closed_clause"
                " ORDER BY count(*) DESC, c.policy_id, c.version, c.closed_clause",
                args,
            )
            return [ClauseCount(*row) for row in rows]

        return await self.read(read)

    async def conversations_by_policy(
        self, policy_id: str, version: int, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        def read() -> Page[Conversation]:
            items, next_cursor = self.page(
                "SELECT n, snapshot FROM conversations WHERE policy_id = ? AND version = ?"
                " AND n > ? ORDER BY n LIMIT ?",
                (policy_id, version),
                cursor,
                limit,
            )
            return Page([Conversation.from_dict(json.loads(b)) for b in items], next_cursor)

        return await self.read(read)

    async def ended_conversations(
        self, where: EndedFilter, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        conditions: list[str] = ["ended_at IS NOT NULL"]
        args: list[Any] = []
        for column, value in (
            ("visitor_id = ?", where.visitor_id),
            ("id = ?", where.conversation_id),
            ("ended_at >= ?", where.since),
            ("ended_at < ?", where.until),
        ):
            if value is not None:
                conditions.append(column)
                args.append(value)
        if cursor is not None:
            conditions.append(
                "(ended_at, id) < (SELECT ended_at, id FROM conversations WHERE n = ?)"
            )
            args.append(position_after(cursor))

        def read() -> Page[Conversation]:
            bodies, after = self.rows_page(
                f"SELECT n, snapshot FROM conversations WHERE {' AND '.join(conditions)}"
                " ORDER BY ended_at DESC, id DESC LIMIT ?",
                tuple(args),
                limit,
            )
            return Page([Conversation.from_dict(json.loads(b)) for b in bodies], after)

        return await self.read(read)

    async def earlier_conversations(
        self, visitor_id: str, conversation_id: str, limit: int
    ) -> list[PastConversation]:
        moderation = (EventType.WARNING.value, EventType.CLOSED.value)

        def read() -> list[PastConversation]:
            rows = self.db.execute(
                "SELECT c.id, c.snapshot, e.body FROM ("
                " SELECT n, id, snapshot FROM conversations WHERE visitor_id = ?"
                " AND n < (SELECT n FROM conversations WHERE id = ? AND visitor_id = ?)"
                " ORDER BY n DESC LIMIT ?"
                ") c LEFT JOIN events e ON e.conversation_id = c.id"
                " AND json_extract(e.body, '$.type') IN (?, ?)"
                " ORDER BY c.n DESC, e.seq",
                (visitor_id, conversation_id, visitor_id, limit, *moderation),
            )
            past: dict[str, PastConversation] = {}
            for cid, snapshot, body in rows:
                if cid not in past:
                    past[cid] = PastConversation(Conversation.from_dict(json.loads(snapshot)), [])
                if body is not None:
                    past[cid].moderation.append(Event.from_dict(json.loads(body)))
            return list(past.values())

        return await self.read(read)

    # audit trail

    def seal_audit(self, db: sqlite3.Connection, draft: AuditDraft, at: datetime) -> AuditEntry:
        """Seal ``draft`` after the chain's head, inside the caller's transaction."""
        row = db.execute("SELECT body FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        head = AuditEntry.from_dict(json.loads(row[0])) if row else None
        entry = draft.after(head, self._last_audit(draft.conversation_id), at)
        db.execute(
            "INSERT INTO audit VALUES (?, ?, ?)",
            (entry.seq, entry.conversation_id, dumps(entry.to_dict())),
        )
        return entry

    async def append_audit(self, draft: AuditDraft, at: datetime) -> AuditEntry:
        return await self.write(lambda db: self.seal_audit(db, draft, at))

    def _last_audit(self, conversation_id: str | None) -> AuditEntry | None:
        if conversation_id is None:
            return None
        row = self.db.execute(
            "SELECT body FROM audit WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1",
            (conversation_id,),
        ).fetchone()
        return AuditEntry.from_dict(json.loads(row[0])) if row else None

    async def last_audit(self, conversation_id: str) -> AuditEntry | None:
        return await self.read(lambda: self._last_audit(conversation_id))

    async def audit(
        self, cursor: str | None, limit: int, conversation_id: str | None = None
    ) -> Page[AuditEntry]:
        condition = "" if conversation_id is None else " AND conversation_id = ?"
        args = () if conversation_id is None else (conversation_id,)

        def read() -> Page[AuditEntry]:
            items, next_cursor = self.page(
                f"SELECT seq, body FROM audit WHERE 1 = 1{condition} AND seq > ?"
                " ORDER BY seq LIMIT ?",
                args,
                cursor,
                limit,
            )
            return Page([AuditEntry.from_dict(json.loads(b)) for b in items], next_cursor)

        return await self.read(read)
