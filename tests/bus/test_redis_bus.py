"""The Redis bus between processes, against a real redis-server."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis

from harness import RedisServer
from parley.bus.messages import Flooding, Message
from parley.bus.redis import RedisBus
from parley.store.redis_db import BUS_PREFIX


async def test_a_payload_that_does_not_decode_is_skipped_and_fan_out_goes_on(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    sender, receiver = RedisBus(redis_server.url), RedisBus(redis_server.url)
    got: list[Message] = []
    await receiver.start()
    receiver.subscribe("lobby", lambda topic, message: got.append(message))
    raw = redis.Redis.from_url(redis_server.url)
    try:
        with caplog.at_level(logging.ERROR, logger="parley.bus"):
            for garbage in (b"not json", b"[]", b'{"origin": "x", "messages": [{"kind": "?"}]}'):
                raw.publish(BUS_PREFIX + "lobby", garbage)
            await sender.publish(Flooding("c_after_garbage"))
            for _ in range(100):
                if got:
                    break
                await asyncio.sleep(0.02)
        assert got == [Flooding("c_after_garbage")]
        assert len([r for r in caplog.records if "does not decode" in r.message]) == 3
    finally:
        raw.close()
        await sender.close()
        await receiver.close()
