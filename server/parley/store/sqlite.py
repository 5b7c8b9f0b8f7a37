"""The embedded store: one SQLite file; see ``store/base.py`` for the guarantees it gives."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from parley.domain import policy as policy_rules
from parley.domain.agent import Staff, StaffRole
from parley.domain.conversation import Conversation, ConversationState, Transition
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Event, format_time, parse_time
from parley.domain.webhooks import notices_of, policy_published
from parley.errors import ConversationError, ConversationNotFound
from parley.store.base import Applied, Store, dumps
from parley.store.sqlite_bans import BanTables
from parley.store.sqlite_canned import CannedTables
from parley.store.sqlite_erasure import ErasureTables
from parley.store.sqlite_holds import HoldTables
from parley.store.sqlite_merkle import MerkleTables
from parley.store.sqlite_records import RecordTables
from parley.store.sqlite_retention import RetentionTables
from parley.store.sqlite_webhooks import WebhookTables, journal

#: Open conversations' snapshots the writer keeps, at most.
SNAPSHOTS = 10_000


class SQLiteStore(
    HoldTables,
    RetentionTables,
    RecordTables,
    BanTables,
    MerkleTables,
    CannedTables,
    ErasureTables,
    WebhookTables,
    Store,
):
    """A :class:`Store` on one SQLite file.

    The writer keeps open conversations' latest snapshots, so an action does not
    read and parse its conversation again. That is exact because one server
    process owns the file and every write to a conversation goes through its
    one database thread; a rolled-back batch empties the cache. The one write
    another process makes (``parley visitors erase`` appending an erasure
    record) is caught by the compare-and-set on ``last_seq``: the server then
    decides again on the fresh snapshot.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        # Touched only on the database thread, inside writes.
        self._snapshots: dict[str, Conversation] = {}

    def rolled_back(self) -> None:
        self._snapshots.clear()

    def _remember(self, conversation: Conversation) -> None:
        self._snapshots.pop(conversation.id, None)
        if conversation.is_open:
            self._snapshots[conversation.id] = conversation
            if len(self._snapshots) > SNAPSHOTS:
                del self._snapshots[next(iter(self._snapshots))]

    @classmethod
    async def open(cls, path: Path) -> SQLiteStore:
        store = cls(path)
        await store._run(store._connect)
        return store

    # policies

    async def publish_policy(self, version: PolicyVersion, at: datetime) -> bool:
        def write(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT document FROM policies WHERE policy_id = ? AND version = ?",
                (version.policy_id, version.version),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO policies VALUES (?, ?, ?, ?, ?)",
                    (
                        version.policy_id,
                        version.version,
                        version.sha256,
                        dumps(policy_rules.to_stored(version)),
                        format_time(at),
                    ),
                )
                journal(db, [policy_published(version, version.languages, at)])
                return True
            published = policy_rules.from_stored(json.loads(row[0]))
            merged = policy_rules.merge_published(published, version)
            if merged is None:
                return False
            db.execute(
                "UPDATE policies SET document = ? WHERE policy_id = ? AND version = ?",
                (dumps(policy_rules.to_stored(merged)), version.policy_id, version.version),
            )
            added = [lang for lang in merged.languages if lang not in published.languages]
            journal(db, [policy_published(merged, added, at)])
            return True

        return await self.write(write)

    async def policies(self) -> list[PolicyVersion]:
        def read() -> list[PolicyVersion]:
            rows = self.db.execute("SELECT document FROM policies ORDER BY policy_id, version")
            return [policy_rules.from_stored(json.loads(r[0])) for r in rows]

        return await self._run(read)

    # visitors

    async def create_visitor(self, visitor_id: str, token_hash: str, at: datetime) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO visitors VALUES (?, ?, ?)", (visitor_id, token_hash, format_time(at))
            )

        await self.write(write)

    async def visitor_by_token(self, token_hash: str) -> str | None:
        def read() -> str | None:
            row = self.db.execute(
                "SELECT visitor_id FROM visitors WHERE token_hash = ?", (token_hash,)
            ).fetchone()
            return row[0] if row else None

        return await self._run(read)

    async def visitor_created_at(self, visitor_id: str) -> str | None:
        def read() -> str | None:
            row = self.db.execute(
                "SELECT created_at FROM visitors WHERE visitor_id = ?", (visitor_id,)
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

    def _write_transition(
        self, db: sqlite3.Connection, t: Transition, dedupe: str | None
    ) -> Applied:
        """Write everything ``t`` holds; the caller's transaction makes it one commit."""
        event = t.event
        db.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            (event.conversation_id, event.seq, dedupe, dumps(event.to_dict())),
        )
        if t.ban is not None:
            self._write_ban(db, t.ban)
        if t.audit is not None:
            self.seal_audit(db, t.audit, parse_time(event.at))
        journal(db, notices_of(t))
        db.execute(
            "INSERT INTO unanchored VALUES (?, ?)"
            " ON CONFLICT (conversation_id) DO UPDATE SET seq = excluded.seq",
            (event.conversation_id, event.seq),
        )
        self._remember(t.conversation)
        return Applied(t.conversation, event)

    async def start_conversation(
        self, visitor_id: str, decide: Callable[[Conversation | None], Transition]
    ) -> Applied:
        def write(db: sqlite3.Connection) -> Applied:
            t = decide(self._latest(visitor_id))
            c = t.conversation
            db.execute(
                "INSERT INTO conversations"
                " (id, visitor_id, state, policy_id, version, snapshot, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    c.id,
                    c.visitor_id,
                    c.state.value,
                    c.policy.policy_id,
                    c.policy.version,
                    dumps(c.to_dict()),
                    c.started_at,
                ),
            )
            return self._write_transition(db, t, None)

        return await self.write(write)

    async def apply(
        self,
        conversation_id: str,
        decide: Callable[[Conversation], Transition | None],
        dedupe: str | None = None,
    ) -> Applied:
        def write(db: sqlite3.Connection) -> Applied:
            if dedupe is not None:
                row = db.execute(
                    "SELECT body FROM events WHERE conversation_id = ? AND dedupe = ?",
                    (conversation_id, dedupe),
                ).fetchone()
                if row is not None:
                    first = Event.from_dict(json.loads(row[0]))
                    return Applied(self._found(conversation_id), first, duplicate=True)
            current = self._snapshots.get(conversation_id)
            fresh = current is None
            current = current or self._found(conversation_id)
            while True:
                try:
                    t = decide(current)
                except ConversationError:
                    if fresh:
                        raise
                    # A remembered snapshot may lag another writer: refuse only on the latest.
                    current, fresh = self._found(conversation_id), True
                    continue
                if t is None:
                    return Applied(current, None)
                after = t.conversation
                # Compare and set: if another writer moved the conversation since the
                # snapshot was read, decide again on the fresh one.
                moved = db.execute(
                    "UPDATE conversations SET state = ?, snapshot = ?, closed_clause = ?,"
                    " ended_at = ? WHERE id = ? AND json_extract(snapshot, '$.last_seq') = ?",
                    (
                        after.state.value,
                        dumps(after.to_dict()),
                        after.closed_clause,
                        after.ended_at,
                        conversation_id,
                        current.last_seq,
                    ),
                )
                if moved.rowcount == 1:
                    break
                current, fresh = self._found(conversation_id), True
            return self._write_transition(db, t, dedupe)

        return await self.write(write)

    def _found(self, conversation_id: str) -> Conversation:
        """The committed snapshot; raise ConversationNotFound."""
        found = self._get(conversation_id)
        if found is None:
            raise ConversationNotFound(f"no conversation {conversation_id}")
        return found

    async def maintain(self) -> None:
        """Nothing to do: there is no outbox to drain."""

    async def settle(self) -> None:
        """Nothing to do: every effect of an action commits in its own transaction."""

    async def moved_heads(self, limit: int) -> list[Conversation]:
        def read() -> list[Conversation]:
            rows = self.db.execute(
                "SELECT c.snapshot FROM unanchored u"
                " JOIN conversations c ON c.id = u.conversation_id LIMIT ?",
                (limit,),
            )
            return [Conversation.from_dict(json.loads(r[0])) for r in rows]

        return await self._run(read)

    async def moved_head_count(self) -> int:
        def read() -> int:
            count: int = self.db.execute("SELECT count(*) FROM unanchored").fetchone()[0]
            return count

        return await self._run(read)

    async def mark_anchored(self, conversation_id: str, seq: int) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "DELETE FROM unanchored WHERE conversation_id = ? AND seq <= ?",
                (conversation_id, seq),
            )

        await self.write(write)

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
                "INSERT INTO staff (id, name, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                (staff.id, staff.name, staff.role.value, token_hash, staff.created_at),
            )

        await self.write(write)

    def _staff(self, where: str, args: tuple[str, ...]) -> list[Staff]:
        rows = self.db.execute(
            f"SELECT id, name, role, created_at, revoked_at FROM staff {where}", args
        )
        return [Staff(r[0], r[1], StaffRole(r[2]), r[3], r[4]) for r in rows]

    async def staff_by_token(self, token_hash: str) -> Staff | None:
        found = await self.read(lambda: self._staff("WHERE token_hash = ?", (token_hash,)))
        return found[0] if found else None

    async def staff(self) -> list[Staff]:
        return await self.read(lambda: self._staff("ORDER BY created_at, id", ()))

    async def revoke_staff(self, staff_id: str, at: datetime) -> Staff | None:
        def write(db: sqlite3.Connection) -> Staff | None:
            db.execute(
                "UPDATE staff SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (format_time(at), staff_id),
            )
            found = self._staff("WHERE id = ?", (staff_id,))
            return found[0] if found else None

        return await self.write(write)
