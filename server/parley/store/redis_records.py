"""Redis keys of the records compliance relies on: audit trail and listings.

Listings page through a sorted-set index (score = conversation number, the
cursor) and apply the remaining filters while reading, so a page may read more
conversations than it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from parley.domain.audit import AuditDraft, AuditEntry
from parley.domain.conversation import Conversation, ConversationState
from parley.domain.transcript import Event, EventType
from parley.store.base import EndedFilter, Filter, Page, PastConversation, dumps, position_after
from parley.store.redis_db import (
    ALL,
    AUDIT,
    CLOSED,
    ENDED,
    Commit,
    audit_thread,
    conv_key,
    ended_member,
    policy_index,
    visitor_ended_index,
    visitor_index,
)
from parley.store.redis_outbox import Outbox

BATCH = 200
MODERATION = (EventType.WARNING, EventType.CLOSED)


def _matches(c: Conversation, f: Filter, closed: bool) -> bool:
    """Whether ``c`` passes ``f``; ``since`` and ``until`` apply to when it ended if
    ``closed`` (a closure's time), else to when it started."""
    at = c.ended_at if closed else c.started_at
    return (
        (f.visitor_id is None or c.visitor_id == f.visitor_id)
        and (f.policy_id is None or c.policy.policy_id == f.policy_id)
        and (f.version is None or c.policy.version == f.version)
        and (f.clause_id is None or c.closed_clause == f.clause_id)
        and (f.since is None or (at is not None and at >= f.since))
        and (f.until is None or (at is not None and at < f.until))
    )


def _lex_order(bound: str) -> tuple[int, str]:
    """Order of lex-range upper bounds: ``+`` above every exclusive ``(member``."""
    return (1, "") if bound == "+" else (0, bound[1:])


def conversation_of(raw: str | None) -> Conversation | None:
    return Conversation.from_dict(json.loads(raw)) if raw else None


class RedisRecords(Outbox):
    """Listings read the global indexes after applying the outbox (read your writes)."""

    async def snapshots(self, ids: list[str]) -> list[Conversation | None]:
        """The snapshots of these conversations, in order (``None`` for an unknown id)."""
        async with self.r.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.get(conv_key(cid, "conv"))
            raw = await self.guard(pipe.execute())
        return [conversation_of(r) for r in raw]

    # listings

    def _index(self, f: Filter, closed: bool) -> str:
        if f.visitor_id is not None:
            return visitor_index(f.visitor_id)
        if f.policy_id is not None and f.version is not None:
            return policy_index(f.policy_id, f.version)
        return CLOSED if closed else ALL

    async def _scan(
        self, index: str, f: Filter, cursor: str | None, limit: int, closed: bool
    ) -> tuple[list[tuple[int, Conversation]], str | None]:
        after = position_after(cursor)
        found: list[tuple[int, Conversation]] = []
        while len(found) <= limit:
            batch = await self.guard(
                self.r.zrangebyscore(
                    index, f"({after}", "+inf", start=0, num=BATCH, withscores=True
                )
            )
            if not batch:
                break
            for (_cid, score), conv in zip(
                batch, await self.snapshots([b[0] for b in batch]), strict=True
            ):
                after = int(score)
                if conv is None or not _matches(conv, f, closed):
                    continue
                if closed and conv.state is not ConversationState.CLOSED:
                    continue
                found.append((after, conv))
        more = len(found) > limit
        found = found[:limit]
        return found, (str(found[-1][0]) if more else None)

    async def _event_at(self, conversation_ids: list[str], index: int) -> list[Event]:
        async with self.r.pipeline(transaction=False) as pipe:
            for cid in conversation_ids:
                pipe.lindex(conv_key(cid, "events"), index)
            raw = await self.guard(pipe.execute())
        return [Event.from_dict(json.loads(r)) for r in raw]

    async def acceptances(self, where: Filter, cursor: str | None, limit: int) -> Page[Event]:
        found, next_cursor = await self._scan(
            self._index(where, False), where, cursor, limit, False
        )
        return Page(await self._event_at([c.id for _, c in found], 0), next_cursor)

    async def closures(self, where: Filter, cursor: str | None, limit: int) -> Page[Event]:
        await self.settle()
        found, next_cursor = await self._scan(self._index(where, True), where, cursor, limit, True)
        return Page(await self._closing_events([c.id for _, c in found]), next_cursor)

    async def _closing_events(self, conversation_ids: list[str]) -> list[Event]:
        """Each closed conversation's `closed` event: its last, or the last before the erasure
        records an erasure appends after the ending."""
        async with self.r.pipeline(transaction=False) as pipe:
            for cid in conversation_ids:
                pipe.lrange(conv_key(cid, "events"), -4, -1)
            tails = await self.guard(pipe.execute())
        closing = []
        for cid, tail in zip(conversation_ids, tails, strict=True):
            events = [Event.from_dict(json.loads(r)) for r in tail]
            found = [e for e in events if e.type is EventType.CLOSED]
            if not found:
                whole = await self.guard(self.r.lrange(conv_key(cid, "events"), 0, -1))
                found = [e for e in map(Event.from_dict, map(json.loads, whole))
                         if e.type is EventType.CLOSED]  # fmt: skip
            closing.append(found[-1])
        return closing

    async def conversations_by_policy(
        self, policy_id: str, version: int, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        where = Filter(policy_id=policy_id, version=version)
        found, next_cursor = await self._scan(
            self._index(where, False), where, cursor, limit, False
        )
        return Page([c for _, c in found], next_cursor)

    async def _backfill_ended(self) -> None:
        """Index the conversations that ended before the index was kept."""

        async def build() -> Callable[[Any], None]:
            ids = await self.guard(self.r.zrange(ALL, 0, -1))
            ended = [c for c in await self.snapshots(ids) if c is not None and c.ended_at]

            def writes(p: Any) -> None:
                for c in ended:
                    member = ended_member(c.ended_at or "", c.id)
                    p.zadd(ENDED, {member: 0})
                    p.zadd(visitor_ended_index(c.visitor_id), {member: 0})

            return writes

        await self.backfill("ended", [ALL], build)

    async def ended_conversations(
        self, where: EndedFilter, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        """One lex range of the ended index (the visitor's, if given) from the cursor's
        member down to ``since``; a conversation id is looked up directly."""
        await self.settle()
        if where.conversation_id is not None:
            [c] = await self.snapshots([where.conversation_id])
            return Page([c] if c is not None and where.admits(c) else [], None)
        upper = "+" if where.until is None else f"({where.until}"
        if cursor is not None:
            below = await self._below(cursor)
            if below is None:
                return Page([], None)
            upper = min(upper, below, key=_lex_order)
        lower = "-" if where.since is None else f"[{where.since}"
        index = ENDED if where.visitor_id is None else visitor_ended_index(where.visitor_id)
        members = await self.guard(self.r.zrevrangebylex(index, upper, lower, 0, limit + 1))
        found = [c for c in await self.snapshots([m.split(" ", 1)[1] for m in members]) if c]
        more = len(found) > limit
        found = found[:limit]
        if not more:
            return Page(found, None)
        n = await self.guard(self.r.zscore(ALL, found[-1].id))
        return Page(found, str(int(n)))

    async def _below(self, cursor: str) -> str | None:
        """The exclusive upper bound after the conversation numbered ``cursor``; ``None`` if
        no ended conversation has that number."""
        n = position_after(cursor)
        ids = await self.guard(self.r.zrangebyscore(ALL, n, n))
        [after] = await self.snapshots(ids[:1]) if ids else [None]
        if after is None or after.ended_at is None:
            return None
        return f"({ended_member(after.ended_at, after.id)}"

    async def earlier_conversations(
        self, visitor_id: str, conversation_id: str, limit: int
    ) -> list[PastConversation]:
        """Three round trips, whatever ``limit``: the conversation's number, the ids before
        it, then every snapshot and transcript at once (filtered here)."""
        index = visitor_index(visitor_id)
        n = await self.guard(self.r.zscore(index, conversation_id))
        if n is None:
            return []
        ids = await self.guard(
            self.r.zrevrangebyscore(index, f"({int(n)}", "-inf", start=0, num=limit)
        )
        async with self.r.pipeline(transaction=False) as pipe:
            for cid in ids:
                pipe.get(conv_key(cid, "conv"))
                pipe.lrange(conv_key(cid, "events"), 0, -1)
            raw = await self.guard(pipe.execute())
        past = []
        for snapshot, transcript in zip(raw[::2], raw[1::2], strict=True):
            events = [Event.from_dict(json.loads(e)) for e in transcript]
            moderation = [e for e in events if e.type in MODERATION]
            past.append(PastConversation(Conversation.from_dict(json.loads(snapshot)), moderation))
        return past

    # audit trail

    async def _entry(self, reader: Any, seq: int | str | None) -> AuditEntry | None:
        if seq is None:
            return None
        raw = await reader.lindex(AUDIT, int(seq) - 1)
        return AuditEntry.from_dict(json.loads(raw)) if raw else None

    async def seal_audit(
        self, pipe: Any, draft: AuditDraft, at: datetime
    ) -> tuple[AuditEntry, Callable[[Any], None]]:
        """Seal ``draft`` after the chain's head as read by ``pipe`` (which watches AUDIT);
        return the entry and the writes that append it, for the caller's ``MULTI``."""
        thread = audit_thread(draft.conversation_id) if draft.conversation_id else None
        raw = await pipe.lindex(AUDIT, -1)
        head = AuditEntry.from_dict(json.loads(raw)) if raw else None
        last = await self._entry(pipe, await pipe.lindex(thread, -1)) if thread else None
        entry = draft.after(head, last, at)

        def writes(p: Any) -> None:
            p.rpush(AUDIT, dumps(entry.to_dict()))
            if thread:
                p.rpush(thread, entry.seq)

        return entry, writes

    async def append_audit(self, draft: AuditDraft, at: datetime) -> AuditEntry:
        async def body(pipe: Any) -> Any:
            entry, writes = await self.seal_audit(pipe, draft, at)
            return Commit(writes, entry)

        async with self.chain_lock:
            result: AuditEntry = await self.transaction([AUDIT], body)
        return result

    async def audit(
        self, cursor: str | None, limit: int, conversation_id: str | None = None
    ) -> Page[AuditEntry]:
        after = position_after(cursor)
        await self.settle()
        if conversation_id is None:
            seqs = list(range(after + 1, after + limit + 2))
        else:
            thread = await self.guard(self.r.lrange(audit_thread(conversation_id), 0, -1))
            seqs = [int(s) for s in thread if int(s) > after][: limit + 1]
        async with self.r.pipeline(transaction=False) as pipe:
            for seq in seqs:
                pipe.lindex(AUDIT, seq - 1)
            raw = await self.guard(pipe.execute())
        entries = [AuditEntry.from_dict(json.loads(r)) for r in raw if r]
        more = len(entries) > limit
        entries = entries[:limit]
        return Page(entries, str(entries[-1].seq) if more else None)

    async def last_audit(self, conversation_id: str) -> AuditEntry | None:
        seq = await self.guard(self.r.lindex(audit_thread(conversation_id), -1))
        return await self.guard(self._entry(self.r, seq))
