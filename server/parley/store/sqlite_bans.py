"""SQLite rows of bars, and the indexed lookups that find those keeping a connection out."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from parley.domain.bans import Ban
from parley.domain.webhooks import bar_lifted
from parley.store.bars import NetworkCache, address_of, applying, single_address, wide_network
from parley.store.base import dumps
from parley.store.sqlite_db import Database
from parley.store.sqlite_webhooks import journal


class BanTables(Database):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        #: Bars on wide networks as last read; touched only on the database thread.
        self.networks = NetworkCache()

    @staticmethod
    def _write_ban(db: sqlite3.Connection, ban: Ban) -> None:
        """Store ``ban`` (new, or lifted) with the columns its lookups use; count the change."""
        db.execute(
            "INSERT INTO bans (id, body, visitor_id, address, network, lifted_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET body = excluded.body, lifted_at = excluded.lifted_at",
            (
                ban.id,
                dumps(ban.to_dict()),
                ban.visitor_id,
                single_address(ban.network),
                wide_network(ban.network),
                ban.lifted_at,
            ),
        )
        db.execute("UPDATE ban_changes SET n = n + 1")

    def _select(self, sql: str, args: tuple[str | None, ...] = ()) -> list[Ban]:
        return [Ban.from_dict(json.loads(r[0])) for r in self.db.execute(sql, args)]

    def _bans(self, where: str = "", args: tuple[str, ...] = ()) -> list[Ban]:
        return self._select(f"SELECT body FROM bans {where} ORDER BY n", args)

    async def bans(self) -> list[Ban]:
        return await self.read(self._bans)

    async def bars_on(self, visitor_id: str | None, ip: str | None, now: datetime) -> list[Ban]:
        address = address_of(ip)

        def read() -> list[Ban]:
            # The counter is read before the list, so a copy is never older than its counter.
            changes: int = self.db.execute("SELECT n FROM ban_changes").fetchone()[0]
            networks = self.networks.fresh(changes) or self.networks.load(
                changes,
                self._select("SELECT body FROM bans WHERE network > '' AND lifted_at IS NULL"),
                now,
            )
            exact = self._select(
                "SELECT body FROM bans WHERE visitor_id = ? AND lifted_at IS NULL UNION ALL"
                " SELECT body FROM bans WHERE address = ? AND lifted_at IS NULL",
                (visitor_id, str(address) if address is not None else None),
            )
            return applying([*exact, *networks.covering(address)], visitor_id, ip, now)

        return await self.read(read)

    async def rewrite_bar(self, before: Ban, after: Ban) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            changed = db.execute(
                "UPDATE bans SET body = ?, address = ?, network = ? WHERE id = ? AND body = ?",
                (dumps(after.to_dict()), single_address(after.network),
                 wide_network(after.network), before.id, dumps(before.to_dict())),
            ).rowcount  # fmt: skip
            if changed:
                db.execute("UPDATE ban_changes SET n = n + 1")
            return changed == 1

        return await self.write(write)

    async def lift_ban(self, ban_id: str, by: str, reason: str, at: datetime) -> Ban | None:
        def write(db: sqlite3.Connection) -> Ban | None:
            found = self._bans("WHERE id = ?", (ban_id,))
            if not found or found[0].lifted_at is not None:
                return found[0] if found else None
            lifted = found[0].lifted(by, reason, at)
            self._write_ban(db, lifted)
            journal(db, [bar_lifted(lifted)])
            return lifted

        return await self.write(write)
