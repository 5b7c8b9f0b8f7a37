"""Redis keys of bars, and the indexed lookups that find those keeping a connection out.

``BANS`` holds every bar ever placed. Bars in force are also copied into a
hash per visitor, a hash per exact address, and one hash of the bars on wider
networks; lifting a bar removes its copies (a bar changes only by being
lifted, so a copy is never out of date). ``BAN_CHANGES`` moves with every bar
placed or lifted, in the same transaction. ``BANS_ENDING`` lists the bars that
end (or ended) and are not erased, for retention; erasing a bar's address
(``store/redis_retention.py``) removes its copies and its entry there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from parley.domain.bans import Ban
from parley.domain.webhooks import bar_lifted
from parley.store.bars import NetworkCache, address_of, applying, single_address
from parley.store.base import dumps
from parley.store.redis_db import (
    BAN_CHANGES,
    BAN_NETWORKS,
    BANS,
    BANS_ENDING,
    Commit,
    RedisDatabase,
    ban_index,
)
from parley.store.redis_webhooks import JOURNAL


def _bars(raw: list[str]) -> list[Ban]:
    return [Ban.from_dict(json.loads(r)) for r in raw]


def _copies(ban: Ban) -> list[str]:
    """The index keys a bar in force is copied into."""
    address = single_address(ban.network)
    copies = [ban_index("visitor", ban.visitor_id)]
    if address is not None:
        copies.append(ban_index("address", address))
    elif ban.network is not None:
        copies.append(BAN_NETWORKS)
    return copies


def write_ban(p: Any, ban: Ban) -> None:
    """Queue (in ``MULTI``) the writes that store ``ban``, new or lifted, and its copies."""
    record = dumps(ban.to_dict())
    p.hset(BANS, ban.id, record)
    for key in _copies(ban):
        if ban.lifted_at is None:
            p.hset(key, ban.id, record)
        else:
            p.hdel(key, ban.id)
    if ban.until is not None and ban.ended_at != ban.until:
        p.zrem(BANS_ENDING, f"{ban.until} {ban.id}")
    if ban.ended_at is not None and ban.erased is None:
        p.zadd(BANS_ENDING, {f"{ban.ended_at} {ban.id}": 0})
    p.incr(BAN_CHANGES)


class RedisBans(RedisDatabase):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        #: Bars on wide networks as last read by this process.
        self.networks = NetworkCache()

    async def _backfill_bars(self) -> None:
        """Copy the bars placed before bar lookups were indexed."""

        async def build() -> Callable[[Any], None]:
            placed = _bars(list((await self.r.hgetall(BANS)).values()))

            def writes(p: Any) -> None:
                for ban in placed:
                    write_ban(p, ban)

            return writes

        await self.backfill("bars", [BANS], build)

    async def bans(self) -> list[Ban]:
        placed = _bars(list((await self.guard(self.r.hgetall(BANS))).values()))
        return sorted(placed, key=lambda b: (b.created_at, b.id))

    async def bars_on(self, visitor_id: str | None, ip: str | None, now: datetime) -> list[Ban]:
        address = address_of(ip)
        keys = [ban_index("visitor", visitor_id)] if visitor_id is not None else []
        if address is not None:
            keys.append(ban_index("address", str(address)))
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.get(BAN_CHANGES)
            for key in keys:
                pipe.hvals(key)
            changes, *exact = await self.guard(pipe.execute())
        networks = self.networks.fresh(int(changes or 0))
        if networks is None:
            async with self.r.pipeline(transaction=True) as pipe:
                pipe.get(BAN_CHANGES)
                pipe.hvals(BAN_NETWORKS)
                changes, wide = await self.guard(pipe.execute())
            networks = self.networks.load(int(changes or 0), _bars(wide), now)
        found = [ban for raw in exact for ban in _bars(raw)]
        return applying([*found, *networks.covering(address)], visitor_id, ip, now)

    async def rewrite_bar(self, before: Ban, after: Ban) -> bool:
        async def body(pipe: Any) -> Any:
            raw = await pipe.hget(BANS, before.id)
            if raw is None or Ban.from_dict(json.loads(raw)) != before:
                return False

            def writes(p: Any) -> None:
                for key in set(_copies(before)) - set(_copies(after)):
                    p.hdel(key, before.id)
                write_ban(p, after)

            return Commit(writes, True)

        changed: bool = await self.transaction([BANS], body)
        return changed

    async def lift_ban(self, ban_id: str, by: str, reason: str, at: datetime) -> Ban | None:
        async def body(pipe: Any) -> Any:
            raw = await pipe.hget(BANS, ban_id)
            ban = Ban.from_dict(json.loads(raw)) if raw else None
            if ban is None or ban.lifted_at is not None:
                return ban
            lifted = ban.lifted(by, reason, at)

            def writes(p: Any) -> None:
                write_ban(p, lifted)
                p.rpush(JOURNAL, dumps(bar_lifted(lifted).to_dict()))

            return Commit(writes, lifted)

        result: Ban | None = await self.transaction([BANS], body)
        return result
