"""Two Parley processes sharing one real Redis: no sticky sessions, nothing lost."""

from __future__ import annotations

import asyncio
import base64
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import RedisServer, Server, agent, api, conversation_record, merge, visitor
from parley.evidence.verify import verify


@pytest.fixture
def redis_db(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, so it may be killed and restarted."""
    r = RedisServer(tmp_path / "redis").start()
    yield r
    r.stop()


@pytest.fixture
def pair(
    make_server: Callable[..., Server], redis_db: RedisServer, tmp_path: Path
) -> tuple[Server, Server]:
    """Processes A and B on one Redis, sharing the signing key as a deployment would."""
    env = {"PARLEY_STORE": redis_db.url, "PARLEY_SIGNING_KEY": str(tmp_path / "key.pem")}
    a = make_server(data_dir=tmp_path / "a", **env).start()
    b = make_server(data_dir=tmp_path / "b", **env).start()
    return a, b


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["text"] for e in events if e["type"] == "message"]


async def join(a: Any, conversation_id: str) -> None:
    await a.send({"type": "join", "conversation_id": conversation_id})
    await a.expect("caught_up")


async def test_a_visitor_on_a_and_an_agent_on_b_converse_and_b_closes(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    token = b.add_staff("Bea on B", "agent")
    async with visitor(a) as v, agent(b, token) as staff:
        conversation_id = await v.accept()
        listed = await staff.expect("conversation_updates")
        assert [c["id"] for c in listed["items"]] == [conversation_id], "B heard of A's new one"
        await join(staff, conversation_id)
        await v.say("hello from process A", "a1")
        heard = (await staff.expect("event"))["event"]
        assert heard["data"]["text"] == "hello from process A"
        await staff.send(
            {"type": "reply", "conversation_id": conversation_id, "client_id": "b1",
             "text": "hello from process B"}
        )  # fmt: skip

        # Its own message's event may come before or after its ack (docs/protocol.md).
        def after_acceptance() -> list[dict[str, Any]]:
            return [f["event"] for f in v.seen if f["type"] == "event" and f["event"]["seq"] > 1]

        while not any(
            e["type"] == "message" and e["author"]["role"] == "agent" for e in after_acceptance()
        ):
            await v.expect("event")
        seen = after_acceptance()
        assert texts(seen) == ["hello from process A", "hello from process B"]
        assert [e["seq"] for e in seen] == list(range(seen[0]["seq"], seen[0]["seq"] + len(seen)))
        await staff.send({"type": "close", "conversation_id": conversation_id, "clause_id": "1.1"})
        closed = (await v.expect("event"))["event"]
        assert closed["type"] == "closed" and closed["data"]["clause"]["id"] == "1.1"
        await v.expect("policy")


async def test_delta_consoles_on_either_process_follow_a_conversation_from_the_other(
    pair: tuple[Server, Server],
) -> None:
    """Each process's lobby hears every committed change: consoles on A and on B get the new
    conversation whole, then deltas that merge into its exact summary, then its removal."""
    a, b = pair
    token = b.add_staff("Bea on B", "agent")
    compliance = b.add_staff("Carol", "compliance")
    async with (
        agent(a, token, list_updates="delta") as on_a,
        agent(b, token, list_updates="delta") as on_b,
        agent(b, token) as staff,
        visitor(a) as v,
    ):
        conversation_id = await v.accept()
        await v.say("hello from A", "a1")
        await join(staff, conversation_id)
        stored = (await conversation_record(b, compliance, conversation_id))["conversation"]

        async def items(console: Any, done: Callable[[dict[str, Any]], bool]) -> list[Any]:
            """Its items about the conversation, merged into ``listed``, until ``done``."""
            got: list[dict[str, Any]] = []
            while not done(listed[console]):
                for item in (await console.expect("conversation_updates"))["items"]:
                    if item["id"] == conversation_id:
                        got.append(item)
                        merge(listed[console], item)
            return got

        listed: dict[Any, dict[str, Any]] = {on_a: {}, on_b: {}}
        for console in (on_a, on_b):
            heard = await items(console, lambda copy: copy.get(conversation_id) == stored)
            assert "visitor_id" in heard[0], "new to the list: whole"
            assert all("visitor_id" not in item for item in heard[1:]), "then deltas"
        await staff.send({"type": "resolve", "conversation_id": conversation_id})
        await staff.expect("done")
        for console in (on_a, on_b):
            removed = await items(console, lambda copy: conversation_id not in copy)
            assert removed == [{"id": conversation_id, "state": "resolved"}]


async def test_kill_9_of_a_and_the_visitor_resumes_on_b_with_nothing_lost_or_doubled(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    token = b.add_staff("Bea on B", "agent")
    compliance = b.add_staff("Carol", "compliance")
    async with visitor(a) as v:
        conversation_id = await v.accept()
        acked = [await v.say(f"before the crash {i}", f"m{i}") for i in range(5)]
        seen = max(ack["seq"] for ack in acked)
        a.kill()
    async with agent(b, token) as staff:
        await join(staff, conversation_id)
        for i in range(3):
            await staff.send(
                {"type": "reply", "conversation_id": conversation_id, "client_id": f"r{i}",
                 "text": f"while A was down {i}"}
            )  # fmt: skip
            await staff.expect("ack")
    resume = {"conversation_id": conversation_id, "last_seq": seen}
    async with visitor(b, token=v.token, resume=resume) as again:
        missed = await again.events_until_caught_up()
        # B's join claimed it (assigned, agent_joined), then three replies.
        assert [e["seq"] for e in missed] == list(range(seen + 1, seen + 6))
        assert texts(missed) == [f"while A was down {i}" for i in range(3)]
        assert await again.say("before the crash 4", "m4") == acked[4], "a retry is not doubled"
        await again.say("after moving to B", "m5")
    stored = (await conversation_record(b, compliance, conversation_id))["transcript"]
    assert texts(stored) == [
        *(f"before the crash {i}" for i in range(5)),
        *(f"while A was down {i}" for i in range(3)),
        "after moving to B",
    ]


async def test_two_agents_on_two_processes_closing_at_once_make_one_closure(
    pair: tuple[Server, Server],
) -> None:
    """The assignee on A and an admin on B (the only others who may act) close at once."""
    a, b = pair
    token_a, token_b = a.add_staff("Ann on A", "agent"), b.add_staff("Bea on B", "admin")
    compliance = a.add_staff("Carol", "compliance")
    for _ in range(5):
        async with visitor(a) as v:
            conversation_id = await v.accept()
        async with agent(a, token_a) as on_a, agent(b, token_b) as on_b:
            await join(on_a, conversation_id)
            await join(on_b, conversation_id)
            close = {"type": "close", "conversation_id": conversation_id}
            await asyncio.gather(
                on_a.send({**close, "clause_id": "1.1"}), on_b.send({**close, "clause_id": "1.3"})
            )
            outcomes = sorted(
                [
                    (await on_a.expect_any("done", "error"))["type"],
                    (await on_b.expect_any("done", "error"))["type"],
                ]
            )
        assert outcomes == ["done", "error"]
        events = (await conversation_record(a, compliance, conversation_id))["transcript"]
        assert [e["type"] for e in events].count("closed") == 1


async def test_redis_down_means_unavailable_not_acknowledged_and_then_it_carries_on(
    pair: tuple[Server, Server], redis_db: RedisServer
) -> None:
    """While Redis is unreachable a write gets `unavailable` and no ack; the socket stays;
    when Redis returns (after SIGKILL: AOF with appendfsync always), every acknowledged
    message is there and the same client_id goes through once."""
    a, _ = pair
    compliance = a.add_staff("Carol", "compliance")
    async with visitor(a) as v:
        conversation_id = await v.accept()
        acked = [await v.say(f"acknowledged {i}", f"k{i}") for i in range(10)]
        redis_db.stop(signal.SIGKILL)
        await v.send({"type": "message", "client_id": "during", "text": "while Redis is down"})
        error = await v.expect("error", timeout=30)
        assert error["code"] == "unavailable" and error["client_id"] == "during"
        redis_db.start()
        for _ in range(100):
            await v.send({"type": "message", "client_id": "during", "text": "while Redis is down"})
            reply = await v.expect_any("ack", "error", timeout=30)
            if reply["type"] == "ack":
                break
            await asyncio.sleep(0.1)
        assert reply["type"] == "ack" and reply["seq"] == acked[-1]["seq"] + 1
    stored = (await conversation_record(a, compliance, conversation_id))["transcript"]
    assert texts(stored) == [*(f"acknowledged {i}" for i in range(10)), "while Redis is down"]


async def test_evidence_from_either_process_verifies_with_the_shared_key(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    token = a.add_staff("Ann on A", "agent")
    compliance = b.add_staff("Carol", "compliance")
    async with visitor(b) as v:
        conversation_id = await v.accept()
        await v.say("evidence please", "e1")
    async with agent(a, token) as staff:
        await join(staff, conversation_id)
        await staff.send({"type": "resolve", "conversation_id": conversation_id})
        await staff.expect("done")
    key = base64.b64decode((await api(a, "/api/keys")).json()["public_key"])
    for server in (a, b):
        bundle = (
            await api(
                server, f"/api/compliance/conversations/{conversation_id}/evidence", compliance
            )
        ).json()
        report = verify(bundle, key)
        assert report.ok, report.failure


async def test_fan_out_between_processes_recovers_after_redis_restarts(
    pair: tuple[Server, Server], redis_db: RedisServer
) -> None:
    """The bus reconnects by itself: after a Redis crash and restart, a visitor on A and
    an agent on B hear each other again, and the agent sees every event in order."""
    a, b = pair
    token = b.add_staff("Bea on B", "agent")
    async with visitor(a) as v, agent(b, token) as staff:
        conversation_id = await v.accept()
        await join(staff, conversation_id)
        redis_db.stop(signal.SIGKILL)
        redis_db.start()
        heard = None
        for i in range(100):
            await v.send({"type": "message", "client_id": f"probe{i}", "text": f"probe {i}"})
            if (await v.expect_any("ack", "error", timeout=30))["type"] == "ack":
                frames = await staff.quiet(0.2)
                heard = [f["event"] for f in frames if f["type"] == "event"]
                if heard:
                    break
            await asyncio.sleep(0.1)
        assert heard, "B never heard from A again"
        await staff.send(
            {"type": "reply", "conversation_id": conversation_id, "client_id": "back",
             "text": "I hear you again"}
        )  # fmt: skip
        while (event := (await v.expect("event"))["event"])["author"]["role"] != "agent":
            pass
        assert event["data"]["text"] == "I hear you again"
        seqs = [e["seq"] for e in heard]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gap in what B relayed"
