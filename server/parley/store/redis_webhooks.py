"""Redis keys of webhooks: endpoints, the notice journal, its fan-out cursor, deliveries.

Every key shares the hash tag ``{g}``. The journal (:data:`JOURNAL`, a list) is
appended by the outbox appender, which applies each record once
(:mod:`parley.store.redis_outbox`), and by the scripts that lift a bar or
publish a policy, with their own write. Fan-out reads it after :data:`FAN_OUT`
and writes the deliveries and the new position in one ``MULTI/EXEC`` under
``WATCH`` of the position, the endpoints and the delivery counter: applied once,
whichever process does it. A delivery is a JSON record in :data:`DELIVERIES`,
due in :data:`DUE` (scored by when, in ms) while pending, and numbered in its
endpoint's log (:func:`delivery_log`, scored by number) for paging.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from parley.domain import deliveries
from parley.domain.deliveries import Delivery
from parley.domain.transcript import parse_time
from parley.domain.webhooks import Endpoint, Notice
from parley.store.base import Page, dumps, position_after
from parley.store.redis_db import Commit, G, RedisDatabase

WEBHOOKS = f"{G}:webhooks"
JOURNAL = f"{G}:webhooks:journal"
FAN_OUT = f"{G}:webhooks:fan-out"
DELIVERIES = f"{G}:webhooks:deliveries"
DUE = f"{G}:webhooks:due"
DELIVERY_N = f"{G}:webhooks:delivery-n"


def delivery_log(endpoint_id: str) -> str:
    """The endpoint's deliveries: ids scored by their number, in the order made."""
    return f"{G}:webhooks:log:{endpoint_id}"


# Store a delivery over the stored one if that one is pending with ARGV[2] attempts.
# KEYS: deliveries, due. ARGV: id, attempts before, record, state, due score (ms).
SAVE_DELIVERY = """
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if not stored then return 0 end
local d = cjson.decode(stored)
if d.state ~= 'pending' or #d.attempts ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] == 'pending' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
"""


def due_score(delivery: Delivery) -> int:
    return round(parse_time(delivery.next_at).timestamp() * 1000) if delivery.next_at else 0


class RedisWebhooks(RedisDatabase):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._save_delivery = self.r.register_script(SAVE_DELIVERY)

    async def add_webhook(self, endpoint: Endpoint) -> None:
        await self.guard(self.r.hset(WEBHOOKS, endpoint.id, dumps(endpoint.to_dict())))

    async def _all_endpoints(self, reader: Any) -> list[Endpoint]:
        raw = await reader.hgetall(WEBHOOKS)
        found = [Endpoint.from_dict(json.loads(v)) for v in raw.values()]
        return sorted(found, key=lambda e: (e.created_at, e.id))

    async def webhooks(self) -> list[Endpoint]:
        found = await self.guard(self._all_endpoints(self.r))
        return [e for e in found if e.deleted_at is None]

    async def webhook(self, endpoint_id: str) -> Endpoint | None:
        raw = await self.guard(self.r.hget(WEBHOOKS, endpoint_id))
        return Endpoint.from_dict(json.loads(raw)) if raw else None

    async def delete_webhook(self, endpoint_id: str, at: str) -> Endpoint | None:
        async def body(pipe: Any) -> Any:
            raw = await pipe.hget(WEBHOOKS, endpoint_id)
            found = Endpoint.from_dict(json.loads(raw)) if raw else None
            if found is None or found.deleted_at is not None:
                return found
            deleted = Endpoint.from_dict({**found.to_dict(), "deleted_at": at})
            return Commit(
                lambda p: p.hset(WEBHOOKS, endpoint_id, dumps(deleted.to_dict())), deleted
            )

        result: Endpoint | None = await self.transaction([WEBHOOKS], body)
        return result

    async def notices(self, after: int, limit: int) -> list[tuple[int, Notice]]:
        raw = await self.guard(self.r.lrange(JOURNAL, after, after + limit - 1))
        return [(after + i + 1, Notice.from_dict(json.loads(r))) for i, r in enumerate(raw)]

    async def fan_out(self, at: datetime, limit: int) -> int:
        async def body(pipe: Any) -> Any:
            position = int(await pipe.get(FAN_OUT) or 0)
            raw = await pipe.lrange(JOURNAL, position, position + limit - 1)
            if not raw:
                return 0
            notices = [Notice.from_dict(json.loads(r)) for r in raw]
            endpoints = [e for e in await self._all_endpoints(pipe) if e.deleted_at is None]
            made = deliveries.fan_out(notices, endpoints, at)
            number = int(await pipe.get(DELIVERY_N) or 0)

            def writes(p: Any) -> None:
                for n, d in enumerate(made, number + 1):
                    p.hset(DELIVERIES, d.id, dumps(d.to_dict()))
                    p.zadd(DUE, {d.id: due_score(d)})
                    p.zadd(delivery_log(d.endpoint_id), {d.id: n})
                p.set(DELIVERY_N, number + len(made))
                p.set(FAN_OUT, position + len(raw))

            return Commit(writes, len(raw))

        consumed: int = await self.transaction([FAN_OUT, WEBHOOKS, DELIVERY_N], body)
        return consumed

    async def _deliveries(self, ids: list[str]) -> list[Delivery]:
        raw = await self.guard(self.r.hmget(DELIVERIES, ids)) if ids else []
        return [Delivery.from_dict(json.loads(r)) for r in raw if r is not None]

    async def due_deliveries(self, at: datetime, limit: int) -> list[Delivery]:
        until = round(at.timestamp() * 1000)
        ids = await self.guard(self.r.zrangebyscore(DUE, "-inf", until, start=0, num=limit))
        return await self._deliveries(ids)

    async def save_delivery(self, delivery: Delivery) -> bool:
        saved = await self.guard(
            self._save_delivery(
                keys=[DELIVERIES, DUE],
                args=[
                    delivery.id,
                    len(delivery.attempts) - 1,
                    dumps(delivery.to_dict()),
                    delivery.state.value,
                    due_score(delivery),
                ],
            )
        )
        return bool(saved)

    async def deliveries(self, endpoint_id: str, cursor: str | None, limit: int) -> Page[Delivery]:
        top = f"({position_after(cursor)}" if cursor is not None else "+inf"
        found = await self.guard(
            self.r.zrevrangebyscore(
                delivery_log(endpoint_id), top, "-inf", start=0, num=limit + 1, withscores=True
            )
        )
        page = found[:limit]
        items = await self._deliveries([member for member, _ in page])
        after = str(int(page[-1][1])) if len(found) > limit else None
        return Page(items, after)
