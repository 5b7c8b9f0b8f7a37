"""Redis keys of legal holds, and the lookup of those covering a conversation.

``HOLDS`` maps every hold ever placed to its record; ``HOLDS_ALL`` and
``HOLDS_ACTIVE`` score hold ids by their number in the order placed (from
``HOLDS_N``), for listings paged by that number. An active hold is also
copied into the hash of what it covers (:func:`hold_index`), so the check
before retention or erasure reads two hashes; lifting removes the copy. A
hold and its audit entry commit in one ``MULTI/EXEC`` that watches the audit
chain's head, so neither is ever written without the other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from parley.domain.holds import Hold, HoldChange, HoldScope
from parley.errors import HoldNotFound
from parley.store.base import Page, dumps, position_after
from parley.store.redis_db import (
    AUDIT,
    HOLDS,
    HOLDS_ACTIVE,
    HOLDS_ALL,
    HOLDS_N,
    Commit,
    hold_index,
)
from parley.store.redis_records import RedisRecords


def _holds(raw: list[str | None]) -> list[Hold]:
    return [Hold.from_dict(json.loads(r)) for r in raw if r is not None]


def _write_hold(p: Any, hold: Hold, n: int) -> None:
    """Queue (in ``MULTI``) the writes that store ``hold``, new or lifted, and its copies."""
    record = dumps(hold.to_dict())
    covered = hold_index(hold.scope.value, hold.target)
    p.hset(HOLDS, hold.id, record)
    p.zadd(HOLDS_ALL, {hold.id: n})
    if hold.active:
        p.zadd(HOLDS_ACTIVE, {hold.id: n})
        p.hset(covered, hold.id, record)
    else:
        p.zrem(HOLDS_ACTIVE, hold.id)
        p.hdel(covered, hold.id)


class RedisHolds(RedisRecords):
    async def _commit_hold(
        self, watch: list[str], change: Callable[[Any], Any], at: datetime
    ) -> Hold:
        """Commit ``await change(pipe)`` -> (HoldChange, the hold's number, whether it is new)
        with its audit entry, under ``WATCH`` of the audit chain and ``watch``."""

        async def body(pipe: Any) -> Any:
            decided, n, new = await change(pipe)
            _, seal = await self.seal_audit(pipe, decided.audit, at)

            def writes(p: Any) -> None:
                if new:
                    p.set(HOLDS_N, n)
                _write_hold(p, decided.hold, n)
                seal(p)

            return Commit(writes, decided.hold)

        async with self.chain_lock:
            result: Hold = await self.transaction([AUDIT, *watch], body)
        return result

    async def place_hold(self, change: HoldChange, at: datetime) -> Hold:
        async def placed(pipe: Any) -> tuple[HoldChange, int, bool]:
            return change, int(await pipe.get(HOLDS_N) or 0) + 1, True

        return await self._commit_hold([HOLDS_N], placed, at)

    async def lift_hold(
        self, hold_id: str, decide: Callable[[Hold], HoldChange], at: datetime
    ) -> Hold:
        async def lifted(pipe: Any) -> tuple[HoldChange, int, bool]:
            raw = await pipe.hget(HOLDS, hold_id)
            if raw is None:
                raise HoldNotFound(f"no hold {hold_id}")
            n = int(await pipe.zscore(HOLDS_ALL, hold_id))
            return decide(Hold.from_dict(json.loads(raw))), n, False

        return await self._commit_hold([HOLDS], lifted, at)

    async def holds(self, active_only: bool, cursor: str | None, limit: int) -> Page[Hold]:
        after = position_after(cursor)
        key = HOLDS_ACTIVE if active_only else HOLDS_ALL
        ranked = await self.guard(
            self.r.zrangebyscore(key, f"({after}", "+inf", start=0, num=limit + 1, withscores=True)
        )
        more = len(ranked) > limit
        ranked = ranked[:limit]
        if not ranked:
            return Page([], None)
        raw = await self.guard(self.r.hmget(HOLDS, [hold_id for hold_id, _ in ranked]))
        return Page(_holds(raw), str(int(ranked[-1][1])) if more else None)

    async def holds_on(self, conversation_id: str, visitor_id: str) -> list[Hold]:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hvals(hold_index(HoldScope.CONVERSATION.value, conversation_id))
            pipe.hvals(hold_index(HoldScope.VISITOR.value, visitor_id))
            on_conversation, on_visitor = await self.guard(pipe.execute())
        found = _holds([*on_conversation, *on_visitor])
        return sorted(found, key=lambda h: (h.placed_at, h.id))
