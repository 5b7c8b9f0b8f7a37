"""Redis: an erased event written over the stored one (same conversation, seq and hash), and
the copies of erased values removed: outbox records, and the AOF rewritten."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

from redis.exceptions import RedisError, ResponseError

from parley.domain.transcript import Event, EventType
from parley.store.base import dumps, unchanged_hash
from parley.store.redis_db import RedisDatabase, conv_key, outbox_key, shard
from parley.store.redis_outbox import CURSOR

log = logging.getLogger("parley.store")
#: How often, and how far apart (seconds), an AOF rewrite is asked for while one runs.
REWRITE_TRIES, REWRITE_PAUSE = 300, 0.1

# KEYS: the conversation's events list. ARGV: index (seq - 1), expected hash, new event,
# the expected stored record ('' for any with that hash). Compares and sets in one step,
# so a concurrent rewrite cannot slip in between.
REWRITE = """
local stored = redis.call('LINDEX', KEYS[1], ARGV[1])
if not stored or cjson.decode(stored)['hash'] ~= ARGV[2] then return 0 end
if ARGV[4] ~= '' and stored ~= ARGV[4] then return 0 end
redis.call('LSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


class RedisErasure(RedisDatabase):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._rewrite = self.r.register_script(REWRITE)

    async def rewrite_event(self, event: Event, before: Event | None = None) -> None:
        unchanged_hash(event)
        key = conv_key(event.conversation_id, "events")
        expected = dumps(before.to_dict()) if before is not None else ""
        args = [event.seq - 1, event.hash, dumps(event.to_dict()), expected]
        if not await self.guard(self._rewrite(keys=[key], args=args)):
            raise ValueError(
                f"no event {event.seq} of {event.conversation_id} with hash {event.hash}"
                + (" as it was read" if expected else "")
            )

    async def purge_erased(self, conversation_ids: Sequence[str]) -> None:
        cursors = await self.guard(self.r.hgetall(CURSOR))
        for number in sorted({shard(cid) for cid in conversation_ids}):
            applied = cursors.get(str(number))
            if applied is None:
                continue
            key = outbox_key(number)
            records = await self.guard(self.r.xrange(key, "-", applied))
            gone = [
                item_id
                for item_id, fields in records
                if json.loads(fields["r"])["conversation_id"] in conversation_ids
                and not _announces_erasure(fields.get("m"))
            ]
            if gone:
                await self.guard(self.r.xdel(key, *gone))
        await self._rewrite_aof()

    async def _rewrite_aof(self) -> None:
        """Ask for an AOF rewrite that starts after the erasure: one already running forked
        before it and would keep the old values, so wait for it to end and ask again."""
        for _ in range(REWRITE_TRIES):
            try:
                await self.r.bgrewriteaof()
                return
            except RedisError as e:
                if not isinstance(e, ResponseError) or "already in progress" not in str(e):
                    # A Redis that forbids it (a managed service) rewrites on its own schedule;
                    # the erasure itself is committed either way.
                    log.warning("could not ask Redis to rewrite its AOF after an erasure: %s", e)
                    return
            await asyncio.sleep(REWRITE_PAUSE)
        log.warning("Redis was still rewriting its AOF: ask again with BGREWRITEAOF")


def _announces_erasure(envelope: str | None) -> bool:
    """Whether an outbox record's bus messages announce an erasure record (kept: it copies
    nothing personal, and other processes may still read it)."""
    if envelope is None:
        return False
    messages = json.loads(envelope).get("messages", [])
    return any(m.get("event", {}).get("type") == EventType.ERASED.value for m in messages)
