"""One action, one round trip: the commit script, the outbox, and the appender that drains it.

**The commit script** (:data:`COMMIT`) runs an action on a conversation inside
Redis, atomically, touching only keys of the conversation's shard: it checks
the dedupe key, then that the conversation still has the ``last_seq`` the
process decided against (a compare-and-append: if another process wrote first
it answers ``stale`` with the current snapshot, and the process decides again);
then it appends the event, replaces the snapshot, records the dedupe key, and
appends to the shard's stream the action's outbox record and the bus messages
that announce it (which every process reads from the stream, by position:
:mod:`parley.bus.redis`). One round trip in the common case.

**The outbox record** carries what the action changes outside its
conversation: its audit entry (still a draft: the global chain is not in the
shard), a bar, the end of the conversation (open/closed indexes, clause
counts), its new head (to anchor), and the webhook notices it owes (appended to
the webhook journal, :mod:`parley.store.redis_webhooks`).

**The appender** (:meth:`Outbox.drain`) reads the shard streams from the
positions recorded in ``{g}:outbox-cursor``, seals the audit drafts after the
chain's head, applies the rest, and advances the positions — all in one
``MULTI/EXEC`` under ``WATCH`` of the positions and of the chain's head, so a
record is applied exactly once, whichever process drains and however many try
at once. Records of one conversation are in one stream, so they are applied
in commit order. Any process may drain; a lease (``{g}:appender``) lets one at
a time do it in the background, and :meth:`Outbox.drain` called directly (to
settle) is safe beside it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from parley.domain.audit import AuditDraft, AuditEntry
from parley.domain.bans import Ban
from parley.domain.conversation import Conversation, ConversationState
from parley.domain.transcript import parse_time
from parley.domain.webhooks import Notice
from parley.errors import StoreUnavailable
from parley.store.base import dumps
from parley.store.redis_bans import write_ban
from parley.store.redis_db import (
    ALL,
    AUDIT,
    CLOSED,
    CLOSURE_COUNTS,
    ENDED,
    OPEN,
    SHARDS,
    Commit,
    G,
    RedisDatabase,
    audit_thread,
    closure_field,
    ended_member,
    outbox_key,
    retained_index,
    visitor_ended_index,
)
from parley.store.redis_webhooks import JOURNAL

log = logging.getLogger("parley.store")

CURSOR = f"{G}:outbox-cursor"
UNANCHORED = f"{G}:unanchored"
LEASE = f"{G}:appender"
#: How long the background appender's lease lasts without renewal (ms).
LEASE_MS = 3000
#: Most records one drain step applies in one transaction.
BATCH = 500
#: How long applied records stay in the streams for processes catching up (ms).
KEEP_MS = 60_000
#: The longest the idle appender waits on the streams before it renews its lease (ms).
WAIT_MS = 1000

# KEYS: snapshot, events, dedupe, outbox.
# ARGV: expected last_seq, dedupe key or "", snapshot, event, outbox record, bus messages.
COMMIT = """
if ARGV[2] ~= '' then
  local seq = redis.call('HGET', KEYS[3], ARGV[2])
  if seq then
    return {'duplicate', redis.call('GET', KEYS[1]), redis.call('LINDEX', KEYS[2], seq - 1)}
  end
end
local current = redis.call('GET', KEYS[1])
if not current then return {'missing'} end
local n = redis.call('LLEN', KEYS[2])
if n ~= tonumber(ARGV[1]) then return {'stale', current} end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[4])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[3], ARGV[2], n + 1) end
redis.call('XADD', KEYS[4], '*', 'r', ARGV[5], 'm', ARGV[6])
return {'ok'}
"""

# Forget KEYS[1][ARGV[1]] unless the head moved past seq ARGV[2] since.
UNMARK = """
local seq = redis.call('HGET', KEYS[1], ARGV[1])
if seq and tonumber(seq) <= tonumber(ARGV[2]) then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""

# Take or renew the lease KEYS[1] for ARGV[1] (who) for ARGV[2] ms; 1 if held.
LEASE_SCRIPT = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


def record(
    conversation_id: str,
    seq: int,
    at: str,
    audit: AuditDraft | None,
    ban: dict[str, Any] | None,
    ended: Conversation | None,
    notices: Sequence[Notice] = (),
) -> str:
    """The outbox record of one committed action (see the module's doc).

    ``ended`` is the conversation's snapshot if the action ended it; ``notices`` the
    webhook notices it owes.
    """
    clause = None
    if ended is not None and ended.state is ConversationState.CLOSED:
        clause = closure_field(
            ended.policy.policy_id, ended.policy.version, ended.closed_clause or ""
        )
    return dumps(
        {
            "conversation_id": conversation_id,
            "seq": seq,
            "at": at,
            "audit": audit.to_dict() if audit else None,
            "ban": ban,
            "ended": ended.state.value if ended is not None else None,
            "ended_at": ended.ended_at if ended is not None else None,
            "visitor_id": ended.visitor_id if ended is not None else None,
            "clause": clause,
            "notices": [n.to_dict() for n in notices],
        }
    )


class Outbox(RedisDatabase):
    async def drain(self) -> int:
        """Apply every outbox record committed so far; return how many this call applied."""
        applied = 0
        async with self.chain_lock:
            while (count := await self.transaction([CURSOR, AUDIT], self._step)) > 0:
                applied += count
        return applied

    async def settle(self) -> None:
        await self.drain()

    async def _step(self, pipe: Any) -> Any:
        """One transaction: up to BATCH records after the cursors, applied and consumed."""
        cursors = await pipe.hgetall(CURSOR)
        streams = {outbox_key(s): cursors.get(str(s), "0-0") for s in range(SHARDS)}
        found = await pipe.xread(streams, count=BATCH)
        if not found:
            return 0
        raw = await pipe.lindex(AUDIT, -1)
        head = AuditEntry.from_dict(json.loads(raw)) if raw else None
        threads: dict[str, AuditEntry | None] = {}
        entries: list[AuditEntry] = []
        moved: dict[str, int] = {}
        ended: list[tuple[str, str]] = []
        finished: list[tuple[str, str, str]] = []
        retained: list[tuple[str, str]] = []
        clauses: list[str] = []
        bans: list[dict[str, Any]] = []
        notices: list[str] = []
        advanced: dict[str, str] = {}
        for stream, items in found:
            shard_number = stream.rsplit("{s", 1)[1].split("}", 1)[0]
            for item_id, fields in items:
                advanced[shard_number] = item_id
                r = json.loads(fields["r"])
                cid = r["conversation_id"]
                moved[cid] = max(moved.get(cid, 0), r["seq"])
                if r["ended"] is not None:
                    ended.append((cid, r["ended"]))
                # Older records carry no end time: the index's backfill found their snapshots.
                if r.get("ended_at") is not None:
                    finished.append((cid, r["visitor_id"], r["ended_at"]))
                    retained.append((r["ended"], ended_member(r["ended_at"], cid)))
                if r.get("clause"):
                    clauses.append(r["clause"])
                if r["ban"] is not None:
                    bans.append(r["ban"])
                # Records from before webhooks carry no notices.
                notices.extend(dumps(n) for n in r.get("notices", ()))
                if r["audit"] is not None:
                    if cid not in threads:
                        threads[cid] = await self._thread_head(pipe, cid)
                    draft = AuditDraft.from_dict(r["audit"])
                    head = draft.after(head, threads[cid], parse_time(r["at"]))
                    threads[cid] = head
                    entries.append(head)
        numbers = [await pipe.zscore(ALL, cid) for cid, state in ended if state == "closed"]

        def writes(p: Any) -> None:
            for entry in entries:
                p.rpush(AUDIT, dumps(entry.to_dict()))
                p.rpush(audit_thread(entry.conversation_id or ""), entry.seq)
            closed = iter(numbers)
            for cid, state in ended:
                p.zrem(OPEN, cid)
                if state == "closed":
                    p.zadd(CLOSED, {cid: next(closed)})
            for cid, visitor_id, ended_at in finished:
                member = ended_member(ended_at, cid)
                p.zadd(ENDED, {member: 0})
                p.zadd(visitor_ended_index(visitor_id), {member: 0})
            for state, member in retained:
                p.zadd(retained_index(state), {member: 0})
            for ban in bans:
                write_ban(p, Ban.from_dict(ban))
            for clause in clauses:
                p.hincrby(CLOSURE_COUNTS, clause, 1)
            if notices:
                p.rpush(JOURNAL, *notices)
            if moved:
                p.hset(UNANCHORED, mapping=moved)
            p.hset(CURSOR, mapping=advanced)

        count = sum(len(items) for _, items in found)
        return Commit(writes, count)

    async def _thread_head(self, reader: Any, conversation_id: str) -> AuditEntry | None:
        seq = await reader.lindex(audit_thread(conversation_id), -1)
        if seq is None:
            return None
        raw = await reader.lindex(AUDIT, int(seq) - 1)
        return AuditEntry.from_dict(json.loads(raw)) if raw else None

    async def trim(self) -> None:
        """Drop records the appender has applied and that are older than :data:`KEEP_MS`.

        Processes read committed messages from the streams by position; keeping
        the last minute lets one that lost its connection for a moment catch up.
        """
        cursors = await self.guard(self.r.hgetall(CURSOR))
        recent = int(time.time() * 1000) - KEEP_MS
        async with self.r.pipeline(transaction=False) as pipe:
            for shard_number, position in cursors.items():
                applied = int(position.split("-")[0])
                pipe.xtrim(outbox_key(int(shard_number)), minid=min(applied, recent))
            await self.guard(pipe.execute())

    async def run_appender(self, holder: str) -> None:
        """Drain in the background while this process holds the lease; forever.

        The holder waits on the streams for the next record (a blocking read, so
        an audit entry is sealed moments after its action) and trims applied
        records once a second; the others try to take the lease every second.
        """
        lease = self.r.register_script(LEASE_SCRIPT)
        trimmed = 0.0
        while True:
            try:
                if not await self.guard(lease(keys=[LEASE], args=[holder, LEASE_MS])):
                    await asyncio.sleep(LEASE_MS / 3000)
                    continue
                if await self.drain() == 0:
                    if time.monotonic() - trimmed >= 1:
                        await self.trim()
                        trimmed = time.monotonic()
                    await self._wait_for_records()
            except StoreUnavailable as e:
                log.warning("the outbox appender could not drain (%s); retrying", e)
                await asyncio.sleep(0.5)

    async def _wait_for_records(self) -> None:
        """Return when a record lies after the cursors, or after a second without one."""
        cursors = await self.guard(self.r.hgetall(CURSOR))
        streams = {outbox_key(s): cursors.get(str(s), "0-0") for s in range(SHARDS)}
        await self.guard(self.r.xread(streams, count=1, block=WAIT_MS))
