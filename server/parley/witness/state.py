"""What a witness remembers, in one SQLite file: per log, the last checkpoint it cosigned;
and every refused checkpoint that the log did sign but that contradicts that one.

The compare-and-set is one ``BEGIN IMMEDIATE`` transaction: read the log's last
cosigned checkpoint, decide, write the new one, commit. The spec's race (request
A for size N checked, request B for N+K checked and stored, then A stored,
rolling the log back K leaves) cannot happen: a second decision starts only
after the first is committed, even from another process on the same file. Calls
run in worker threads (a commit waits for fsync) and take a thread lock, since
they share one connection; the server also holds an asyncio lock around each, so
that requests queue in the event loop rather than in threads.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parley.witness.protocol import Cosigned, Refusal, Submission

SCHEMA = """
CREATE TABLE IF NOT EXISTS cosigned (
    origin TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS forks (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    old_size INTEGER NOT NULL,
    proof TEXT NOT NULL,
    submitted TEXT NOT NULL,
    cosigned TEXT,
    UNIQUE (origin, submitted, old_size, proof)
);
"""


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WitnessState:
    """The witness's SQLite file; each method is one transaction, one thread at a time."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def latest(self, origin: str) -> Cosigned | None:
        with self.lock:
            return self._latest(origin)

    def _latest(self, origin: str) -> Cosigned | None:
        row = self.db.execute(
            "SELECT origin, size, root, note, cosigned_at FROM cosigned WHERE origin = ?",
            (origin,),
        ).fetchone()
        return Cosigned(*row) if row else None

    def add(
        self, submission: Submission, decide: Callable[[Cosigned | None], Cosigned], now: int
    ) -> None:
        """Store what ``decide`` makes of the log's latest checkpoint, atomically.

        If ``decide`` raises a :class:`Refusal` marked ``fork``, the submission is kept
        as evidence (once per distinct request) and the refusal re-raised; any other
        refusal changes nothing.
        """
        with self.lock:
            self._add(submission, decide, now)

    def _add(
        self, submission: Submission, decide: Callable[[Cosigned | None], Cosigned], now: int
    ) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        latest = None
        try:
            latest = self._latest(submission.origin)
            new = decide(latest)
            self.db.execute(
                "INSERT INTO cosigned (origin, size, root, note, cosigned_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) DO UPDATE SET "
                "size = excluded.size, root = excluded.root, note = excluded.note, "
                "cosigned_at = excluded.cosigned_at",
                (new.origin, new.size, new.root, new.note, new.cosigned_at),
            )
        except Refusal as refusal:
            if refusal.fork:
                self._record_fork(submission, refusal, latest, now)
            self.db.execute("COMMIT")
            raise
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _record_fork(
        self, submission: Submission, refusal: Refusal, latest: Cosigned | None, now: int
    ) -> None:
        proof = json.dumps([base64.b64encode(h).decode() for h in submission.proof])
        self.db.execute(
            "INSERT OR IGNORE INTO forks (origin, status, reason, received_at, old_size, proof, "
            "submitted, cosigned) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                submission.origin,
                refusal.status,
                refusal.message,
                now,
                submission.old_size,
                proof,
                submission.checkpoint.render(),
                latest.note if latest else None,
            ),
        )

    def forks(self) -> list[dict[str, Any]]:
        """Every recorded fork, oldest first, as the JSON of ``GET /forks``."""
        with self.lock:
            rows = self.db.execute(
                "SELECT origin, status, reason, received_at, old_size, proof, submitted, cosigned "
                "FROM forks ORDER BY id"
            ).fetchall()
        return [
            {
                "origin": origin,
                "status": status,
                "reason": reason,
                "received_at": _time(received_at),
                "old_size": old_size,
                "proof": json.loads(proof),
                "submitted": submitted,
                "cosigned": cosigned,
            }
            for origin, status, reason, received_at, old_size, proof, submitted, cosigned in rows
        ]
