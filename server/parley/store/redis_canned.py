"""Redis keys of canned replies: the records by id, and the index of shortcuts.

``CANNED`` maps each id to its reply; ``CANNED_SHORTCUTS`` maps each shortcut
to its reply's id. Both change together in one optimistic transaction that
watches both, so two processes can never give one shortcut to two replies.
"""

from __future__ import annotations

import json
from typing import Any

from parley.domain.canned import CannedReply
from parley.errors import ShortcutTaken
from parley.store.base import dumps
from parley.store.redis_db import CANNED, CANNED_SHORTCUTS, Commit, RedisDatabase


class RedisCanned(RedisDatabase):
    async def canned_replies(self) -> list[CannedReply]:
        raw = await self.guard(self.r.hvals(CANNED))
        replies = [CannedReply.from_dict(json.loads(r)) for r in raw]
        return sorted(replies, key=lambda r: r.shortcut)

    async def _save(self, reply: CannedReply, *, new: bool) -> CannedReply | None:
        async def body(pipe: Any) -> Any:
            raw = await pipe.hget(CANNED, reply.id)
            if raw is None and not new:
                return None
            holder = await pipe.hget(CANNED_SHORTCUTS, reply.shortcut)
            if holder is not None and holder != reply.id:
                raise ShortcutTaken(
                    f"another canned reply already has the shortcut /{reply.shortcut}"
                )
            before = CannedReply.from_dict(json.loads(raw)) if raw else None

            def writes(p: Any) -> None:
                if before is not None and before.shortcut != reply.shortcut:
                    p.hdel(CANNED_SHORTCUTS, before.shortcut)
                p.hset(CANNED, reply.id, dumps(reply.to_dict()))
                p.hset(CANNED_SHORTCUTS, reply.shortcut, reply.id)

            return Commit(writes, reply)

        result: CannedReply | None = await self.transaction([CANNED, CANNED_SHORTCUTS], body)
        return result

    async def add_canned_reply(self, reply: CannedReply) -> None:
        await self._save(reply, new=True)

    async def change_canned_reply(self, reply: CannedReply) -> CannedReply | None:
        return await self._save(reply, new=False)

    async def delete_canned_reply(self, reply_id: str) -> CannedReply | None:
        async def body(pipe: Any) -> Any:
            raw = await pipe.hget(CANNED, reply_id)
            if raw is None:
                return None
            found = CannedReply.from_dict(json.loads(raw))

            def writes(p: Any) -> None:
                p.hdel(CANNED, reply_id)
                p.hdel(CANNED_SHORTCUTS, found.shortcut)

            return Commit(writes, found)

        result: CannedReply | None = await self.transaction([CANNED, CANNED_SHORTCUTS], body)
        return result
