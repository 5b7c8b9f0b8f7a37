"""Typing and read state through the real server: relayed to the other side, never stored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_slow_clients import fill, stalled_agent

from harness import (
    Client,
    RedisServer,
    Server,
    agent,
    conversation_record,
    joined,
    two_processes,
    visitor,
)


async def join(a: Client, conversation_id: str) -> None:
    await a.send({"type": "join", "conversation_id": conversation_id})
    await a.expect("caught_up")


async def error_for(c: Client, frame: dict[str, Any]) -> dict[str, Any]:
    """The answer to ``frame``: its error, and no signal relayed meanwhile."""
    await c.send(frame)
    answered = [f for f in await c.barrier() if f["type"] in ("error", "typing", "read")]
    assert len(answered) == 1 and answered[0]["type"] == "error", answered
    return answered[0]


async def test_typing_is_relayed_both_ways_and_never_stored(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with joined(server, agent_token) as (v, a, conversation_id):
        await v.send({"type": "typing", "state": True})
        typing = await a.expect("typing")
        assert typing == {
            "type": "typing", "conversation_id": conversation_id, "role": "visitor",
            "state": True, "expires_in": 6,
        }  # fmt: skip
        await a.send({"type": "typing", "conversation_id": conversation_id, "state": True})
        typing = await v.expect("typing")
        assert typing == {
            "type": "typing", "conversation_id": conversation_id, "role": "agent",
            "name": "Alice Agent", "state": True, "expires_in": 6,
        }  # fmt: skip
        assert not [f for f in await a.barrier() if f["type"] == "typing"], "not echoed to itself"
        await v.say("now a message", "m1")
        await a.expect("event")
    record = await conversation_record(server, compliance_token, conversation_id)
    types = [e["type"] for e in record["transcript"]]
    assert types == ["acceptance", "assigned", "agent_joined", "message"], "typing is not stored"


async def test_read_state_is_relayed_both_ways_and_never_stored(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with joined(server, agent_token) as (v, a, conversation_id):
        seq = (await v.say("did you read this?", "m1"))["seq"]
        await a.expect("event")
        await a.send({"type": "read", "conversation_id": conversation_id, "seq": seq})
        read = await v.expect("read")
        assert read == {
            "type": "read", "conversation_id": conversation_id, "role": "agent",
            "name": "Alice Agent", "seq": seq,
        }  # fmt: skip
        await a.send(
            {"type": "reply", "conversation_id": conversation_id, "client_id": "r1",
             "text": "yes"}
        )  # fmt: skip
        reply_seq = (await a.expect("ack"))["seq"]
        await v.send({"type": "read", "conversation_id": conversation_id, "seq": reply_seq})
        read = await a.expect("read")
        assert read == {
            "type": "read",
            "conversation_id": conversation_id,
            "role": "visitor",
            "seq": reply_seq,
        }
    record = await conversation_record(server, compliance_token, conversation_id)
    assert [e["type"] for e in record["transcript"]] == [
        "acceptance", "assigned", "agent_joined", "message", "message",
    ]  # fmt: skip


async def test_a_burst_of_typing_is_coalesced_into_the_first_and_the_last(
    server: Server, agent_token: str
) -> None:
    """Ten typing frames at once: the agent hears the first at once and the last when the
    interval (2 s) ends, nothing in between, and no error goes back to the visitor."""
    async with joined(server, agent_token) as (v, a, _):
        for n in range(10):
            await v.send({"type": "typing", "state": n % 2 == 0})
        answered = [f for f in await v.barrier() if f["type"] != "event"]
        assert answered == [], "coalescing is silent"
        heard = [await a.expect("typing"), await a.expect("typing")]
        assert [t["state"] for t in heard] == [True, False]
        # Every signal held back was relayed before this: the next event marks the end.
        await v.say("done typing", "m1")
        before = []
        while (frame := await a.recv())["type"] != "event":
            before.append(frame)
        assert not [f for f in before if f["type"] == "typing"]


async def test_misused_signals_get_typed_errors_and_relay_nothing(
    server: Server, agent_token: str, second_agent_token: str
) -> None:
    async with (
        visitor(server) as v,
        visitor(server) as other,
        agent(server, agent_token) as a,
        agent(server, second_agent_token) as b,
    ):
        offer = await v.expect("policy")
        error = await error_for(v, {"type": "typing", "state": True})
        assert error["code"] == "policy_not_accepted", "no conversation yet"
        conversation_id = await v.accept_offer(offer)
        other_id = await other.accept()
        await join(a, conversation_id)
        error = await error_for(
            other, {"type": "typing", "state": True, "conversation_id": conversation_id}
        )
        assert error["code"] == "not_found", "a visitor signals only in their own conversation"
        error = await error_for(other, {"type": "read", "conversation_id": conversation_id,
                                        "seq": 1})  # fmt: skip
        assert error["code"] == "not_found"
        error = await error_for(b, {"type": "typing", "conversation_id": conversation_id,
                                    "state": True})  # fmt: skip
        assert error["code"] == "not_joined"
        error = await error_for(b, {"type": "typing", "conversation_id": "c_nosuchconversation",
                                    "state": True})  # fmt: skip
        assert error["code"] == "not_found"
        error = await error_for(a, {"type": "read", "conversation_id": conversation_id,
                                    "seq": 99})  # fmt: skip
        assert error["code"] == "invalid_frame", "one cannot have read what was not sent"
        error = await error_for(v, {"type": "typing", "state": "yes"})
        assert error["code"] == "invalid_frame"
        assert not [f for f in await a.barrier() if f["type"] in ("typing", "read")]
        assert not [f for f in await v.barrier() if f["type"] in ("typing", "read")]
        await a.send({"type": "resolve", "conversation_id": conversation_id})
        await a.expect("done")
        await v.expect("policy")
        error = await error_for(v, {"type": "typing", "state": True})
        assert error["code"] == "conversation_closed"
        error = await error_for(a, {"type": "typing", "conversation_id": conversation_id,
                                    "state": True})  # fmt: skip
        assert error["code"] == "conversation_closed"
        assert other_id != conversation_id


async def test_typing_crosses_processes_on_redis(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path
) -> None:
    """A visitor on process A and an agent on process B see each other type."""
    a, b = two_processes(make_server, redis_server, tmp_path)
    token = b.add_staff("Bea on B", "agent")
    async with joined(a, token, agent_server=b) as (v, staff, conversation_id):
        await v.send({"type": "typing", "state": True})
        assert (await staff.expect("typing"))["role"] == "visitor"
        await staff.send({"type": "typing", "conversation_id": conversation_id, "state": True})
        assert (await v.expect("typing"))["name"] == "Bea on B"
        seq = (await v.say("across", "m1"))["seq"]
        await staff.expect("event")
        await staff.send({"type": "read", "conversation_id": conversation_id, "seq": seq})
        assert (await v.expect("read"))["seq"] == seq


async def test_typing_flooding_a_slow_reader_is_shed_never_a_1013_nor_a_lost_message(
    make_server: Callable[..., Server],
) -> None:
    """PARLEY_MAX_PENDING_FRAMES=30 and typing relayed without a pause: an agent that stops
    reading while its visitor types hundreds of times is not closed (the queued typing frames
    are dropped first), and once it reads again it gets every acknowledged message in order.
    (Before, the 31st queued frame closed it with 1013 whatever it was.)"""
    server = make_server(
        PARLEY_MAX_PENDING_FRAMES="30",
        PARLEY_SEND_TIMEOUT="600",
        PARLEY_PING_INTERVAL="600",
        PARLEY_MAX_MESSAGE_CHARS="60000",
        PARLEY_TYPING_INTERVAL="0.000001",
    ).start()
    token = server.add_staff("Ann", "agent")
    async with visitor(server) as v, stalled_agent(server, token) as s:
        conversation_id = await v.accept()
        await join(s.client, conversation_id)
        s.stop_reading()
        await fill(s, v, conversation_id)
        acknowledged = [f["client_id"] for f in v.seen if f["type"] == "ack"]
        for n in range(300):
            await v.send({"type": "typing", "state": n % 2 == 0})
            if n % 20 == 0:
                await v.barrier()
        for n in range(3):
            acknowledged.append((await v.say(f"after typing {n}", f"after-{n}"))["client_id"])
        await v.barrier()
        assert "fell 30 frames behind" not in server.log.read_text()
        s.client.ws.transport.resume_reading()
        received = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                while not received or received[-1] != "after-2":
                    frame = await s.client.recv()
                    if frame["type"] == "event" and frame["event"]["type"] == "message":
                        received.append(frame["event"]["client_id"])
        assert received == acknowledged, "every acknowledged message arrived, in order"
        assert s.client.ws.close_code is None, "still open: no 1013"
        assert "dropped" in server.log.read_text()
