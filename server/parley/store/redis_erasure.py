"""Redis: an erased event written over the stored one (same conversation, seq and hash)."""

from __future__ import annotations

from parley.domain.transcript import Event
from parley.store.base import dumps, unchanged_hash
from parley.store.redis_db import RedisDatabase, conv_key

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
            )
