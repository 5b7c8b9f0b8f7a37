"""Presence across two Parley processes on one real Redis: one team, one abandonment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import redis
from test_presence import team, until_ended, visitor_states

from harness import RedisServer, Server, agent, conversation_record, two_processes, visitor


async def test_an_agent_on_b_is_the_team_a_visitor_on_a_sees(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path
) -> None:
    """Item 1: presence is shared by every process, in both directions."""
    a, b = two_processes(make_server, redis_server, tmp_path)
    token = b.add_staff("Ivy on B", "agent")
    async with visitor(a, presence=True) as v:
        assert await team(v) == "offline"
        offer = await v.expect("policy")
        async with agent(b, token, presence=True) as console:
            assert await team(v) == "available"
            conversation_id = await v.accept_offer(offer)
            assert await visitor_states(console, conversation_id, "online") == ["online"]
            await console.send({"type": "presence", "state": "away"})
            assert await team(v) == "away"
            async with visitor(b, presence=True) as on_b:
                assert await team(on_b) == "away", "B reads the same presence"
        assert await team(v) == "offline"


async def test_two_processes_abandon_a_conversation_once(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path
) -> None:
    """Item 3: both processes sweep; the store's commit lets only one abandonment in."""
    a, b = two_processes(make_server, redis_server, tmp_path, PARLEY_ABANDON_AFTER="0.5")
    token = b.add_staff("Jon on B", "agent")
    compliance = a.add_staff("Compliance", "compliance")
    async with agent(b, token, list_updates="delta") as console:
        async with visitor(a) as v:
            conversation_id = await v.accept()
        assert (await until_ended(console, conversation_id))["state"] == "abandoned"
        # Both processes go on sweeping (every 0.125 s here) for a while after.
        await console.quiet(1.0)
    record = await conversation_record(a, compliance, conversation_id)
    types = [e["type"] for e in record["transcript"]]
    assert types == ["acceptance", "abandoned"]
    assert record["chain"]["intact"]


def script_calls(redis_server: RedisServer) -> int:
    """How many Lua scripts Redis has run (presence writes are scripts)."""
    with redis.Redis(port=redis_server.port) as r:
        stats = r.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


async def test_heartbeats_that_change_nothing_write_nothing(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path
) -> None:
    """A widget sending heartbeats far too often costs no store write for each: only a
    change is written (an open widget's entry is kept alive by its process anyway)."""
    a, _ = two_processes(make_server, redis_server, tmp_path)
    async with visitor(a, presence=True) as v:
        await v.accept()
        await v.send({"type": "heartbeat", "idle": False})
        await v.expect("pong")
        before = script_calls(redis_server)
        for _ in range(200):
            await v.send({"type": "heartbeat", "idle": False})
        for _ in range(200):
            await v.expect("pong")
        after = script_calls(redis_server)
    assert after - before < 20, "200 heartbeats that changed nothing wrote presence each time"
