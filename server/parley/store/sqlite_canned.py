"""SQLite rows of canned replies; the UNIQUE shortcut column refuses a duplicate."""

from __future__ import annotations

import json
import sqlite3

from parley.domain.canned import CannedReply
from parley.errors import ShortcutTaken
from parley.store.base import dumps
from parley.store.sqlite_db import Database


class CannedTables(Database):
    def _canned(self, where: str = "", args: tuple[str, ...] = ()) -> list[CannedReply]:
        rows = self.db.execute(f"SELECT body FROM canned_replies {where} ORDER BY shortcut", args)
        return [CannedReply.from_dict(json.loads(r[0])) for r in rows]

    async def canned_replies(self) -> list[CannedReply]:
        return await self.read(self._canned)

    @staticmethod
    def _check_free(db: sqlite3.Connection, reply: CannedReply) -> None:
        holder = db.execute(
            "SELECT id FROM canned_replies WHERE shortcut = ?", (reply.shortcut,)
        ).fetchone()
        if holder is not None and holder[0] != reply.id:
            raise ShortcutTaken(f"another canned reply already has the shortcut /{reply.shortcut}")

    async def add_canned_reply(self, reply: CannedReply) -> None:
        def write(db: sqlite3.Connection) -> None:
            self._check_free(db, reply)
            db.execute(
                "INSERT INTO canned_replies (id, shortcut, body) VALUES (?, ?, ?)",
                (reply.id, reply.shortcut, dumps(reply.to_dict())),
            )

        await self.write(write)

    async def change_canned_reply(self, reply: CannedReply) -> CannedReply | None:
        def write(db: sqlite3.Connection) -> CannedReply | None:
            if not self._canned("WHERE id = ?", (reply.id,)):
                return None
            self._check_free(db, reply)
            db.execute(
                "UPDATE canned_replies SET shortcut = ?, body = ? WHERE id = ?",
                (reply.shortcut, dumps(reply.to_dict()), reply.id),
            )
            return reply

        return await self.write(write)

    async def delete_canned_reply(self, reply_id: str) -> CannedReply | None:
        def write(db: sqlite3.Connection) -> CannedReply | None:
            found = self._canned("WHERE id = ?", (reply_id,))
            if found:
                db.execute("DELETE FROM canned_replies WHERE id = ?", (reply_id,))
            return found[0] if found else None

        return await self.write(write)
