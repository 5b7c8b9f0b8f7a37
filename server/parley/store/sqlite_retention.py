"""SQLite: the ended conversations retention has yet to erase, and the sweep's lease."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from parley.domain.audit import AuditDraft
from parley.domain.bans import Ban
from parley.domain.conversation import Conversation, ConversationState
from parley.domain.holds import HoldScope
from parley.domain.transcript import format_time
from parley.store.base import Page, dumps, position_after
from parley.store.sqlite_records import RecordTables

# Held: an active hold on the conversation or on its visitor (the holds_in_force index).
_NOT_HELD = (
    "NOT EXISTS (SELECT 1 FROM holds WHERE scope = ? AND target = c.id AND lifted_at IS NULL)"
    " AND NOT EXISTS (SELECT 1 FROM holds WHERE scope = ? AND target = c.visitor_id"
    " AND lifted_at IS NULL)"
)


class RetentionTables(RecordTables):
    async def conversations_due(
        self, state: ConversationState, ended_before: str, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        conditions = ["state = ?", "ended_at IS NOT NULL", "erased_at IS NULL", "ended_at < ?"]
        args: list[Any] = [state.value, ended_before]
        if cursor is not None:
            conditions.append(
                "(ended_at, id) > (SELECT ended_at, id FROM conversations WHERE n = ?)"
            )
            args.append(position_after(cursor))
        conditions.append(_NOT_HELD)
        args += [HoldScope.CONVERSATION.value, HoldScope.VISITOR.value]

        def read() -> Page[Conversation]:
            bodies, after = self.rows_page(
                f"SELECT n, snapshot FROM conversations c WHERE {' AND '.join(conditions)}"
                " ORDER BY ended_at, id LIMIT ?",
                tuple(args),
                limit,
            )
            return Page([Conversation.from_dict(json.loads(b)) for b in bodies], after)

        return await self.read(read)

    async def mark_erased(self, conversation: Conversation, at: datetime) -> None:

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE conversations SET erased_at = ? WHERE id = ? AND ended_at IS NOT NULL"
                " AND erased_at IS NULL",
                (format_time(at), conversation.id),
            )

        await self.write(write)

    async def bars_due(self, ended_before: str, cursor: str | None, limit: int) -> Page[Ban]:
        conditions = ["ended_at IS NOT NULL", "erased_at IS NULL", "ended_at < ?"]
        args: list[Any] = [ended_before]
        if cursor is not None:
            conditions.append("(ended_at, n) > (SELECT ended_at, n FROM bans WHERE n = ?)")
            args.append(position_after(cursor))

        def read() -> Page[Ban]:
            bodies, after = self.rows_page(
                f"SELECT n, body FROM bans WHERE {' AND '.join(conditions)}"
                " ORDER BY ended_at, n LIMIT ?",
                tuple(args),
                limit,
            )
            return Page([Ban.from_dict(json.loads(b)) for b in bodies], after)

        return await self.read(read)

    async def erase_bar(self, ban: Ban, audit: AuditDraft, at: datetime) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            written = db.execute(
                "UPDATE bans SET body = ?, address = NULL, network = NULL"
                " WHERE id = ? AND erased_at IS NULL",
                (dumps(ban.to_dict()), ban.id),
            ).rowcount
            if not written:
                return False
            db.execute("UPDATE ban_changes SET n = n + 1")
            self.seal_audit(db, audit, at)
            return True

        return await self.write(write)

    async def take_lease(self, name: str, holder: str, now: datetime, seconds: float) -> bool:
        until = format_time(now + timedelta(seconds=seconds))

        def write(db: sqlite3.Connection) -> bool:
            taken = db.execute(
                "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " until = excluded.until"
                " WHERE leases.holder = excluded.holder OR leases.until <= ?",
                (name, holder, until, format_time(now)),
            ).rowcount
            return bool(taken)

        return await self.write(write)

    async def release_lease(self, name: str, holder: str) -> None:
        await self.write(
            lambda db: db.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
            )
        )
