"""SQLite: an erased event written over the stored one (same conversation, seq and hash), and
the write-ahead log checkpointed so that no copy of the old bytes is left in it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from parley.domain.transcript import Event
from parley.store.base import dumps, unchanged_hash
from parley.store.sqlite_db import Database


class ErasureTables(Database):
    async def rewrite_event(self, event: Event, before: Event | None = None) -> None:
        unchanged_hash(event)
        expected = dumps(before.to_dict()) if before is not None else None

        def write(db: sqlite3.Connection) -> None:
            written = db.execute(
                "UPDATE events SET body = ? WHERE conversation_id = ? AND seq = ? "
                "AND json_extract(body, '$.hash') = ? AND (? IS NULL OR body = ?)",
                (dumps(event.to_dict()), event.conversation_id, event.seq, event.hash,
                 expected, expected),
            ).rowcount  # fmt: skip
            if written != 1:
                raise ValueError(
                    f"no event {event.seq} of {event.conversation_id} with hash {event.hash}"
                    + (" as it was read" if expected is not None else "")
                )

        await self.write(write)

    async def purge_erased(self, conversation_ids: Sequence[str]) -> None:
        def checkpoint() -> None:
            # Copies every page into the database file (where secure_delete zeroed the old
            # bytes) and empties the log, which still held the pages as first written.
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

        await self._run(checkpoint)
