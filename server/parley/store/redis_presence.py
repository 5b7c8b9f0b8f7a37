"""Presence entries in Redis, shared by every process (see :mod:`parley.store.presence`).

One hash of values and one sorted set of expiry times (milliseconds) per kind,
under the hash tag ``{presence}``: an entry is live while its score is later
than now. Each operation is one script, so an ``only_new`` put is atomic across
processes and reading purges what expired. Redis failures become
:class:`~parley.errors.StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from redis.exceptions import RedisError

from parley.errors import StoreUnavailable
from parley.store.presence import PresenceStore
from parley.store.redis_db import client

PREFIX = "parley:{presence}:"
#: Entries per command when a process refreshes all of its own.
REFRESH_BATCH = 1000

PUT = """
local expires = redis.call('ZSCORE', KEYS[2], ARGV[1])
if ARGV[5] == '1' and expires and tonumber(expires) > tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

LIVE = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
end
return redis.call('HGETALL', KEYS[1])
"""


def _keys(kind: str) -> list[str]:
    return [f"{PREFIX}{kind}", f"{PREFIX}{kind}:expires"]


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class RedisPresence(PresenceStore):
    def __init__(self, url: str) -> None:
        self.r = client(url)
        self._put = self.r.register_script(PUT)
        self._live = self.r.register_script(LIVE)

    async def put(
        self,
        kind: str,
        key: str,
        value: Mapping[str, Any],
        now: float,
        ttl: float,
        *,
        only_new: bool = False,
    ) -> bool:
        args = [key, orjson.dumps(dict(value)).decode(), _ms(now + ttl), _ms(now), int(only_new)]
        try:
            return bool(await self._put(keys=_keys(kind), args=args))
        except (RedisError, OSError) as e:
            raise StoreUnavailable(f"could not record presence: {e}") from e

    async def refresh(
        self, kind: str, entries: Mapping[str, Mapping[str, Any]], now: float, ttl: float
    ) -> None:
        """Two commands per REFRESH_BATCH entries, pipelined: 10,000 connections' entries
        are some twenty commands, not 10,000 script calls."""
        values, expiries = _keys(kind)
        expires = _ms(now + ttl)
        items = list(entries.items())
        try:
            async with self.r.pipeline(transaction=False) as pipe:
                for start in range(0, len(items), REFRESH_BATCH):
                    batch = items[start : start + REFRESH_BATCH]
                    pipe.hset(values, mapping={k: orjson.dumps(dict(v)) for k, v in batch})
                    pipe.zadd(expiries, {k: expires for k, _ in batch})
                await pipe.execute()
        except (RedisError, OSError) as e:
            raise StoreUnavailable(f"could not record presence: {e}") from e

    async def drop(self, kind: str, key: str) -> None:
        values, expiries = _keys(kind)
        try:
            async with self.r.pipeline(transaction=True) as pipe:
                await pipe.hdel(values, key).zrem(expiries, key).execute()
        except (RedisError, OSError) as e:
            raise StoreUnavailable(f"could not record presence: {e}") from e

    async def live(self, kind: str, now: float) -> dict[str, dict[str, Any]]:
        try:
            flat = await self._live(keys=_keys(kind), args=[_ms(now)])
        except (RedisError, OSError) as e:
            raise StoreUnavailable(f"could not read presence: {e}") from e
        return {flat[i]: orjson.loads(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def close(self) -> None:
        await self.r.aclose()
