"""SQLite rows of webhooks: endpoints, the notice journal, its fan-out cursor, deliveries.

Notices are inserted by the transaction of the write that owes them
(:func:`journal`); fan-out reads them after the cursor and writes
the deliveries and the new cursor in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from parley.domain import deliveries
from parley.domain.deliveries import Delivery, DeliveryState
from parley.domain.transcript import format_time
from parley.domain.webhooks import Endpoint, Notice
from parley.store.base import Page, dumps, position_after
from parley.store.sqlite_db import Database


def journal(db: sqlite3.Connection, notices: Iterable[Notice]) -> None:
    """Append ``notices`` to the journal inside the caller's transaction."""
    db.executemany(
        "INSERT INTO webhook_notices (id, body) VALUES (?, ?)",
        [(n.id, dumps(n.to_dict())) for n in notices],
    )


class WebhookTables(Database):
    def _endpoints(self, where: str = "", args: tuple[str, ...] = ()) -> list[Endpoint]:
        rows = self.db.execute(f"SELECT body FROM webhook_endpoints {where} ORDER BY n", args)
        return [Endpoint.from_dict(json.loads(r[0])) for r in rows]

    async def add_webhook(self, endpoint: Endpoint) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO webhook_endpoints (id, body) VALUES (?, ?)",
                (endpoint.id, dumps(endpoint.to_dict())),
            )

        await self.write(write)

    async def webhooks(self) -> list[Endpoint]:
        return await self.read(lambda: self._endpoints("WHERE deleted_at IS NULL"))

    async def webhook(self, endpoint_id: str) -> Endpoint | None:
        found = await self.read(lambda: self._endpoints("WHERE id = ?", (endpoint_id,)))
        return found[0] if found else None

    async def delete_webhook(self, endpoint_id: str, at: str) -> Endpoint | None:
        def write(db: sqlite3.Connection) -> Endpoint | None:
            found = self._endpoints("WHERE id = ?", (endpoint_id,))
            if not found or found[0].deleted_at is not None:
                return found[0] if found else None
            deleted = Endpoint.from_dict({**found[0].to_dict(), "deleted_at": at})
            db.execute(
                "UPDATE webhook_endpoints SET deleted_at = ?, body = ? WHERE id = ?",
                (at, dumps(deleted.to_dict()), endpoint_id),
            )
            return deleted

        return await self.write(write)

    async def notices(self, after: int, limit: int) -> list[tuple[int, Notice]]:
        def read() -> list[tuple[int, Notice]]:
            rows = self.db.execute(
                "SELECT n, body FROM webhook_notices WHERE n > ? ORDER BY n LIMIT ?",
                (after, limit),
            )
            return [(r[0], Notice.from_dict(json.loads(r[1]))) for r in rows]

        return await self.read(read)

    async def fan_out(self, at: datetime, limit: int) -> int:
        """Reads first whether any notice waits, so an idle dispatcher takes no write lock."""

        def waiting() -> bool:
            return bool(
                self.db.execute(
                    "SELECT EXISTS (SELECT 1 FROM webhook_notices"
                    " WHERE n > (SELECT position FROM webhook_fan_out))"
                ).fetchone()[0]
            )

        def write(db: sqlite3.Connection) -> int:
            (position,) = db.execute("SELECT position FROM webhook_fan_out").fetchone()
            rows = db.execute(
                "SELECT n, body FROM webhook_notices WHERE n > ? ORDER BY n LIMIT ?",
                (position, limit),
            ).fetchall()
            if not rows:
                return 0
            notices = [Notice.from_dict(json.loads(r[1])) for r in rows]
            made = deliveries.fan_out(notices, self._endpoints("WHERE deleted_at IS NULL"), at)
            db.executemany(
                "INSERT INTO webhook_deliveries (id, endpoint_id, state, next_at, tries, body)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                [(d.id, d.endpoint_id, d.state.value, d.next_at, dumps(d.to_dict())) for d in made],
            )
            db.execute("UPDATE webhook_fan_out SET position = ?", (rows[-1][0],))
            return len(rows)

        return await self.write(write) if await self.read(waiting) else 0

    async def due_deliveries(self, at: datetime, limit: int) -> list[Delivery]:
        def read() -> list[Delivery]:
            rows = self.db.execute(
                "SELECT body FROM webhook_deliveries WHERE state = 'pending' AND next_at <= ?"
                " ORDER BY next_at, n LIMIT ?",
                (format_time(at), limit),
            )
            return [Delivery.from_dict(json.loads(r[0])) for r in rows]

        return await self.read(read)

    async def save_delivery(self, delivery: Delivery) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            saved = db.execute(
                "UPDATE webhook_deliveries SET state = ?, next_at = ?, tries = ?, body = ?"
                " WHERE id = ? AND tries = ? AND state = ?",
                (
                    delivery.state.value,
                    delivery.next_at,
                    len(delivery.attempts),
                    dumps(delivery.to_dict()),
                    delivery.id,
                    len(delivery.attempts) - 1,
                    DeliveryState.PENDING.value,
                ),
            )
            return saved.rowcount == 1

        return await self.write(write)

    async def deliveries(self, endpoint_id: str, cursor: str | None, limit: int) -> Page[Delivery]:
        before = position_after(cursor) if cursor is not None else 2**63 - 1

        def read() -> Page[Delivery]:
            bodies, after = self.rows_page(
                "SELECT n, body FROM webhook_deliveries WHERE endpoint_id = ? AND n < ?"
                " ORDER BY n DESC LIMIT ?",
                (endpoint_id, before),
                limit,
            )
            return Page([Delivery.from_dict(json.loads(b)) for b in bodies], after)

        return await self.read(read)
