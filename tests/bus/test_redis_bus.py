"""The Redis bus between processes, against a real redis-server."""

from __future__ import annotations

import asyncio
import logging

import pytest
import redis
from contract import say, start

from harness import RedisServer
from parley.bus.messages import EventAdded, Flooding, Message
from parley.bus.redis import RedisBus
from parley.store import open_store
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
        assert not any("origin" in r.message for r in caplog.records), "never the payload itself"
    finally:
        raw.close()
        await sender.close()
        await receiver.close()


async def test_committed_actions_are_read_by_position_across_a_lost_connection(
    redis_server: RedisServer,
) -> None:
    """What commits while a process's connection is down still reaches it, in order."""
    redis_server.flush()
    store = await open_store(redis_server.url)
    receiver = RedisBus(redis_server.url)
    got: list[Message] = []
    await start(store, "v_tail", "c_tail000000")
    await receiver.start()
    receiver.subscribe("conversation:c_tail000000", lambda topic, message: got.append(message))
    raw = redis.Redis.from_url(redis_server.url)
    try:
        for _ in range(100):
            if tailing := [c["id"] for c in raw.client_list() if c["cmd"] == "xread"]:
                break
            await asyncio.sleep(0.02)
        assert tailing, "the bus reads committed actions from the streams"
        for client_id in tailing:  # drop the connection of the bus's blocked read
            raw.client_kill_filter(_id=client_id)
        for i in range(5):
            await say(store, "c_tail000000", f"while away {i}", f"m{i}")
        for _ in range(200):
            if len(got) == 5:
                break
            await asyncio.sleep(0.02)
        assert [m.event["seq"] for m in got if isinstance(m, EventAdded)] == [2, 3, 4, 5, 6]
    finally:
        raw.close()
        await receiver.close()
        await store.close()
