"""Fan-out between server processes through Redis pub/sub.

Every process subscribes once to the pattern ``parley:bus:*`` and hands each
message to its local subscribers, so a visitor on one process and an agent on
another see each other's events without sticky sessions. A process delivers
its own notifications locally and directly (they still reach local subscribers
while Redis is down) and skips their echo from Redis.

Committed actions are announced by the Redis store itself: its commit script
appends their messages to the conversation's shard stream in the same round
trip as the write (:mod:`parley.store.redis_outbox`). Every process (this one
included) tails all shard streams **by position**, so :meth:`RedisBus.committed`
has nothing to do, and after a lost connection or a Redis restart a process
goes on from the last record it saw instead of losing what was published
meanwhile (streams keep a minute of applied records for that). Payloads are
``{"origin": ..., "messages": [...]}``; one that does not decode is logged and
skipped, and fan-out goes on.

Like every bus this carries notifications, not the record: a message lost
while Redis is unreachable is recovered from the store by the next event's gap
fill or by the client's resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

import orjson
from redis.exceptions import RedisError

from parley import metrics
from parley.bus.base import Bus, Deliver
from parley.bus.memory import MemoryBus
from parley.bus.messages import MalformedMessage, Message, decode, envelope
from parley.store.redis_db import BUS_PREFIX, SHARDS, client, outbox_key

log = logging.getLogger("parley.bus")

#: The longest a tailing read waits for a record (under the client's socket timeout),
#: and the most records it takes at once.
TAIL_BLOCK_MS = 1000
TAIL_BATCH = 500
#: Seconds a subscription's connection gets to close politely.
CLOSE_WAIT = 1.0


class RedisBus(Bus):
    def __init__(self, url: str) -> None:
        self.r = client(url)
        self.origin = secrets.token_hex(8)
        self.local = MemoryBus()
        self._listener: asyncio.Task[None] | None = None
        self._tail: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        """Start listening to the other processes; returns once subscribed and positioned."""
        positions = await self._stream_ends()
        self._listener = asyncio.create_task(self._listen())
        self._tail = asyncio.create_task(self._tail_commits(positions))
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _stream_ends(self) -> dict[str, str]:
        """The last record of every shard's stream now: where this process starts reading."""
        async with self.r.pipeline(transaction=False) as pipe:
            for n in range(SHARDS):
                pipe.xrevrange(outbox_key(n), count=1)
            last = await pipe.execute()
        return {outbox_key(n): (found[0][0] if found else "0-0") for n, found in enumerate(last)}

    async def _tail_commits(self, positions: dict[str, str]) -> None:
        """Deliver the messages of every committed action, in stream order, from ``positions``."""
        delay = 0.1
        while True:
            try:
                found = await self.r.xread(positions, count=TAIL_BATCH, block=TAIL_BLOCK_MS)
                delay = 0.1
            except (RedisError, OSError) as e:
                log.warning("lost the committed-action streams (%s); resuming in %.1f s", e, delay)
                metrics.redis_reconnect("streams")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            for stream, records in found or []:
                for record_id, fields in records:
                    positions[stream] = record_id
                    self._relay(fields.get("m", ""))

    def subscribe(self, topic: str, deliver: Deliver) -> Callable[[], None]:
        return self.local.subscribe(topic, deliver)

    async def publish(self, message: Message) -> None:
        self.local.deliver(message)
        try:
            await self.r.publish(BUS_PREFIX + message.topic, envelope([message], self.origin))
        except (RedisError, OSError) as e:
            log.warning("could not tell other processes about %s: %s", message.topic, e)

    async def committed(self, messages: list[Message]) -> None:
        """Nothing to do: the Redis store's commit wrote them to its stream (see the module)."""

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
                metrics.redis_reconnect("pubsub")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                # A connection Redis dropped can hang on a polite close: give it a moment only.
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    await asyncio.wait_for(pubsub.aclose(), CLOSE_WAIT)

    def _relay(self, data: str) -> None:
        """Deliver a payload's messages here, unless this process sent it; skip a bad one."""
        try:
            payload = orjson.loads(data)
            if payload["origin"] == self.origin:
                return
            messages = [decode(m) for m in payload["messages"]]
        except (orjson.JSONDecodeError, MalformedMessage, KeyError, TypeError) as e:
            # Its size, not its content: a payload carries events, and so message texts.
            log.error(
                "skipped a bus payload that does not decode (%s, %d characters)", e, len(data)
            )
            return
        for message in messages:
            self.local.deliver(message)

    async def close(self) -> None:
        tasks = [t for t in (self._listener, self._tail) if t is not None]
        for task in tasks:
            task.cancel()
        # redis-py may take up to its socket timeout to give up a blocked read it was
        # retrying on a dropped connection: shutdown does not wait for that.
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_WAIT)
        await self.local.close()
        await self.r.aclose()
