"""Redis: the ended conversations retention has yet to erase, and the sweep's lease.

``parley:{g}:retained:<state>`` holds, as :data:`~parley.store.redis_db.ENDED` does, an
``"<ended_at> <id>"`` member of score 0 for each conversation that ended in that state
and that retention has not erased: the outbox adds it when the conversation ends, a
backfill when the store opens adds those that ended before the index was kept, and
:meth:`RedisRetention.mark_erased` removes it. Due ones are one lex range of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from parley.domain.audit import AuditDraft
from parley.domain.bans import Ban
from parley.domain.conversation import Conversation, ConversationState
from parley.errors import BadRequest
from parley.store.bars import single_address
from parley.store.base import Page, position_after
from parley.store.redis_bans import write_ban
from parley.store.redis_db import (
    ALL,
    AUDIT,
    BAN_NETWORKS,
    BANS,
    BANS_ENDING,
    Commit,
    ban_index,
    ended_member,
    lease_key,
    retained_index,
)
from parley.store.redis_holds import RedisHolds
from parley.store.redis_outbox import LEASE_SCRIPT

# KEYS: the lease. ARGV: its holder. Deletes it only if that holder has it.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _cursor_of(member: str) -> str:
    """A bar's member as a cursor: hex, so that no cursor a listing returned holds a blank."""
    return member.encode().hex()


def _member_of(cursor: str) -> str:
    try:
        return bytes.fromhex(cursor).decode()
    except ValueError:
        raise BadRequest(f"cursor {cursor[:64]!r} is not one this listing returned") from None


class RedisRetention(RedisHolds):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._lease = self.r.register_script(LEASE_SCRIPT)
        self._release = self.r.register_script(RELEASE)

    async def _backfill_retained(self) -> None:
        """Index the conversations that ended before the index was kept."""

        async def build() -> Callable[[Any], None]:
            ids = await self.guard(self.r.zrange(ALL, 0, -1))
            ended = [c for c in await self.snapshots(ids) if c is not None and c.ended_at]

            def writes(p: Any) -> None:
                for c in ended:
                    p.zadd(retained_index(c.state.value), {ended_member(c.ended_at or "", c.id): 0})

            return writes

        await self.backfill("retained", [ALL], build)

    async def conversations_due(
        self, state: ConversationState, ended_before: str, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        """One lex range of the state's index from the cursor's member up to ``ended_before``,
        then the holds of those read (one pipeline)."""
        await self.settle()
        lower = "-"
        if cursor is not None:
            after = await self._conversation_numbered(position_after(cursor))
            if after is None or after.ended_at is None:
                return Page([], None)
            lower = f"({ended_member(after.ended_at, after.id)}"
        index = retained_index(state.value)
        members = await self.guard(
            self.r.zrangebylex(index, lower, f"({ended_before}", 0, limit + 1)
        )
        more = len(members) > limit
        read = [c for c in await self.snapshots([m.split(" ", 1)[1] for m in members[:limit]]) if c]
        found = [c for c in read if not await self.holds_on(c.id, c.visitor_id)]
        if not more or not read:
            return Page(found, None)
        n = await self.guard(self.r.zscore(ALL, read[-1].id))
        return Page(found, str(int(n)))

    async def _conversation_numbered(self, n: int) -> Conversation | None:
        ids = await self.guard(self.r.zrangebyscore(ALL, n, n))
        [found] = await self.snapshots(ids[:1]) if ids else [None]
        return found

    async def mark_erased(self, conversation: Conversation, at: datetime) -> None:
        if conversation.ended_at is None:
            return
        member = ended_member(conversation.ended_at, conversation.id)
        await self.guard(self.r.zrem(retained_index(conversation.state.value), member))

    async def _backfill_bans_ending(self) -> None:
        """Index the bars placed before the index was kept."""

        async def build() -> Callable[[Any], None]:
            placed = [Ban.from_dict(json.loads(r)) for r in await self.guard(self.r.hvals(BANS))]

            def writes(p: Any) -> None:
                for ban in placed:
                    if ban.ended_at is not None and ban.erased is None:
                        p.zadd(BANS_ENDING, {f"{ban.ended_at} {ban.id}": 0})

            return writes

        await self.backfill("bans-ending", [BANS], build)

    async def bars_due(self, ended_before: str, cursor: str | None, limit: int) -> Page[Ban]:
        """One lex range of the index; the cursor is the last bar's member (its end and id),
        which sorts as the bars' numbers would not."""
        await self.settle()
        lower = "-" if cursor is None else f"({_member_of(cursor)}"
        members = await self.guard(
            self.r.zrangebylex(BANS_ENDING, lower, f"({ended_before}", 0, limit + 1)
        )
        more = len(members) > limit
        members = members[:limit]
        raw = (
            await self.guard(self.r.hmget(BANS, [m.split(" ", 1)[1] for m in members]))
            if members
            else []
        )
        found = [Ban.from_dict(json.loads(r)) for r in raw if r is not None]
        return Page(found, _cursor_of(members[-1]) if more else None)

    async def erase_bar(self, ban: Ban, audit: AuditDraft, at: datetime) -> bool:
        async def body(pipe: Any) -> Any:
            raw = await pipe.hget(BANS, ban.id)
            stored = Ban.from_dict(json.loads(raw)) if raw else None
            if stored is None or stored.erased is not None:
                return Commit(lambda p: None, False)
            _, seal = await self.seal_audit(pipe, audit, at)

            def writes(p: Any) -> None:
                write_ban(p, ban)
                for key in (ban_index("visitor", stored.visitor_id), BAN_NETWORKS):
                    p.hdel(key, ban.id)
                if (address := single_address(stored.network)) is not None:
                    p.hdel(ban_index("address", address), ban.id)
                p.zrem(BANS_ENDING, f"{stored.ended_at} {ban.id}")
                seal(p)

            return Commit(writes, True)

        async with self.chain_lock:
            result: bool = await self.transaction([AUDIT, BANS], body)
        return result

    async def take_lease(self, name: str, holder: str, now: datetime, seconds: float) -> bool:
        """Timed by Redis (``PX``), so the processes' clocks need not agree."""
        ms = max(1, round(seconds * 1000))
        return bool(await self.guard(self._lease(keys=[lease_key(name)], args=[holder, ms])))

    async def release_lease(self, name: str, holder: str) -> None:
        await self.guard(self._release(keys=[lease_key(name)], args=[holder]))
