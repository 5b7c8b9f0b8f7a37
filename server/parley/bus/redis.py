"""Fan-out between server processes through Redis pub/sub.

Every process subscribes once to the pattern ``parley:bus:*`` and hands each
message to its local subscribers, so a visitor on one process and an agent on
another see each other's events without sticky sessions. A process delivers
its own messages locally and directly (they still reach local subscribers
while Redis is down) and skips their echo from Redis.

Like every bus this carries notifications, not the record: a message lost
while Redis is unreachable is recovered from the store by the next event's gap
fill or by the client's resume.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from parley.bus.base import Bus, Deliver
from parley.bus.memory import MemoryBus
from parley.store.redis_db import client

PREFIX = "parley:bus:"
log = logging.getLogger("parley.bus")


class RedisBus(Bus):
    def __init__(self, url: str) -> None:
        self.r = client(url)
        self.origin = secrets.token_hex(8)
        self.local = MemoryBus()
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Start listening to the other processes; returns once subscribed."""
        self._listener = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    def subscribe(self, topic: str, deliver: Deliver) -> Callable[[], None]:
        return self.local.subscribe(topic, deliver)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        await self.local.publish(topic, message)
        payload = json.dumps({"origin": self.origin, "message": message}, ensure_ascii=False)
        try:
            await self.r.publish(PREFIX + topic, payload)
        except (RedisError, OSError) as e:
            log.warning("could not tell other processes about %s: %s", topic, e)

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = self.r.pubsub()
            try:
                await pubsub.psubscribe(PREFIX + "*")
                self._ready.set()
                delay = 0.1
                async for item in pubsub.listen():
                    if item["type"] == "pmessage":
                        await self._relay(item["channel"], item["data"])
            except (RedisError, OSError) as e:
                log.warning("lost the Redis bus (%s); reconnecting in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                await pubsub.aclose()

    async def _relay(self, channel: str, data: str) -> None:
        envelope = json.loads(data)
        if envelope["origin"] != self.origin:
            await self.local.publish(channel.removeprefix(PREFIX), envelope["message"])

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self.local.close()
        await self.r.aclose()
