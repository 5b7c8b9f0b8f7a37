"""Fan-out between server processes through Redis pub/sub.

Every process subscribes once to the pattern ``parley:bus:*`` and hands each
message to its local subscribers, so a visitor on one process and an agent on
another see each other's events without sticky sessions. A process delivers
its own notifications locally and directly (they still reach local subscribers
while Redis is down) and skips their echo from Redis.

Committed actions are announced by the Redis store itself: its commit script
publishes their messages in the same round trip as the write, to every process
(this one included), so :meth:`RedisBus.committed` has nothing to do. Payloads
are ``{"origin": ..., "messages": [...]}``; one that does not decode is logged
and skipped, and the listener goes on.

Like every bus this carries notifications, not the record: a message lost
while Redis is unreachable is recovered from the store by the next event's gap
fill or by the client's resume.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

import orjson
from redis.exceptions import RedisError

from parley.bus.base import Bus, Deliver
from parley.bus.memory import MemoryBus
from parley.bus.messages import MalformedMessage, Message, decode, envelope
from parley.store.redis_db import BUS_PREFIX, client

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

    async def publish(self, message: Message) -> None:
        self.local.deliver(message)
        try:
            await self.r.publish(BUS_PREFIX + message.topic, envelope([message], self.origin))
        except (RedisError, OSError) as e:
            log.warning("could not tell other processes about %s: %s", message.topic, e)

    async def committed(self, messages: list[Message]) -> None:
        """Nothing to do: the Redis store's commit published them (see the module's doc)."""

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = self.r.pubsub()
            try:
                await pubsub.psubscribe(BUS_PREFIX + "*")
                self._ready.set()
                delay = 0.1
                async for item in pubsub.listen():
                    if item["type"] == "pmessage":
                        self._relay(item["data"])
            except (RedisError, OSError) as e:
                log.warning("lost the Redis bus (%s); reconnecting in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                await pubsub.aclose()

    def _relay(self, data: str) -> None:
        """Deliver a payload's messages here, unless this process sent it; skip a bad one."""
        try:
            payload = orjson.loads(data)
            if payload["origin"] == self.origin:
                return
            messages = [decode(m) for m in payload["messages"]]
        except (orjson.JSONDecodeError, MalformedMessage, KeyError, TypeError) as e:
            log.error("skipped a bus payload that does not decode (%s): %.200r", e, data)
            return
        for message in messages:
            self.local.deliver(message)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self.local.close()
        await self.r.aclose()
