"""SQLite rows of legal holds: one row each, indexed by what they cover while active."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime

from parley.domain.holds import Hold, HoldChange, HoldScope
from parley.errors import HoldNotFound
from parley.store.base import Page, dumps
from parley.store.sqlite_records import RecordTables


class HoldTables(RecordTables):
    def _commit_hold(self, db: sqlite3.Connection, change: HoldChange, at: datetime) -> Hold:
        """Store the hold (new, or lifted) and seal its audit entry, in the caller's transaction."""
        hold = change.hold
        db.execute(
            "INSERT INTO holds (id, scope, target, lifted_at, body) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET body = excluded.body, lifted_at = excluded.lifted_at",
            (hold.id, hold.scope.value, hold.target, hold.lifted_at, dumps(hold.to_dict())),
        )
        self.seal_audit(db, change.audit, at)
        return hold

    def _hold(self, hold_id: str) -> Hold | None:
        row = self.db.execute("SELECT body FROM holds WHERE id = ?", (hold_id,)).fetchone()
        return Hold.from_dict(json.loads(row[0])) if row else None

    async def place_hold(self, change: HoldChange, at: datetime) -> Hold:
        return await self.write(lambda db: self._commit_hold(db, change, at))

    async def lift_hold(
        self, hold_id: str, decide: Callable[[Hold], HoldChange], at: datetime
    ) -> Hold:
        def write(db: sqlite3.Connection) -> Hold:
            hold = self._hold(hold_id)
            if hold is None:
                raise HoldNotFound(f"no hold {hold_id}")
            return self._commit_hold(db, decide(hold), at)

        return await self.write(write)

    async def holds(self, active_only: bool, cursor: str | None, limit: int) -> Page[Hold]:
        where = "lifted_at IS NULL AND " if active_only else ""

        def read() -> Page[Hold]:
            items, next_cursor = self.page(
                f"SELECT n, body FROM holds WHERE {where}n > ? ORDER BY n LIMIT ?",
                (),
                cursor,
                limit,
            )
            return Page([Hold.from_dict(json.loads(b)) for b in items], next_cursor)

        return await self.read(read)

    async def holds_on(self, conversation_id: str, visitor_id: str) -> list[Hold]:
        def read() -> list[Hold]:
            rows = self.db.execute(
                "SELECT n, body FROM holds WHERE scope = ? AND target = ? AND lifted_at IS NULL"
                " UNION ALL"
                " SELECT n, body FROM holds WHERE scope = ? AND target = ? AND lifted_at IS NULL"
                " ORDER BY n",
                (
                    HoldScope.CONVERSATION.value,
                    conversation_id,
                    HoldScope.VISITOR.value,
                    visitor_id,
                ),
            )
            return [Hold.from_dict(json.loads(r[1])) for r in rows]

        return await self.read(read)
