"""Automatic assignment (PARLEY_AUTO_ASSIGN) through the real server: a new conversation goes
to the least busy available agent, by Parley, audited; nobody available leaves it queued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness import Client, Server, agent, api, conversation_record, visitor


@pytest.fixture
def auto(make_server: Callable[..., Server]) -> Server:
    return make_server(PARLEY_AUTO_ASSIGN="on").start()


async def set_state(a: Client, state: str) -> None:
    await a.send({"type": "presence", "state": state})
    assert (await a.expect("done"))["state"] == state


def assigned(record: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    """(assignee name, reason, author role) of each assigned event."""
    return [
        ((e["data"]["agent"] or {}).get("name"), e["data"]["reason"], e["author"]["role"])
        for e in record["transcript"]
        if e["type"] == "assigned"
    ]


async def started(server: Server) -> str:
    async with visitor(server) as v:
        return await v.accept()


async def test_a_new_conversation_goes_to_the_least_busy_available_agent(auto: Server) -> None:
    """Rule: available, not away; fewest open conversations first; by Parley, audited.

    Of equal loads the lower staff id is picked, so each step below is one where that
    tie-break alone would pick the other agent: only load and presence explain the result.
    """
    tokens = {"Ada Auto": auto.add_staff("Ada Auto", "agent")}
    tokens["Bob Auto"] = auto.add_staff("Bob Auto", "agent")
    officer = auto.add_staff("Cleo Compliance", "compliance")
    async with agent(auto, tokens["Ada Auto"], presence=True) as probe:
        await probe.send({"type": "staff"})
        ids = {s["name"]: s["id"] for s in (await probe.expect("staff"))["items"]}
    low, high = sorted(["Ada Auto", "Bob Auto"], key=lambda name: ids[name])
    async with (
        agent(auto, tokens[low], presence=True) as lo,
        agent(auto, tokens[high], presence=True) as hi,
    ):
        await set_state(hi, "away")
        first = await started(auto)
        record = await conversation_record(auto, officer, first)
        assert assigned(record) == [(low, "auto", "system")], "the away agent is skipped"
        assert record["conversation"]["assignee"]["name"] == low
        r = await api(auto, f"/api/compliance/audit?conversation_id={first}", officer)
        [entry] = [e for e in r.json()["items"] if e["action"] == "assigned"]
        assert entry["actor"] == {"id": "parley", "name": "Parley", "role": "system"}
        assert entry["details"]["reason"] == "auto"

        await set_state(hi, "available")
        second = await started(auto)
        record = await conversation_record(auto, officer, second)
        assert assigned(record) == [(high, "auto", "system")], f"{low} holds one already"

        await set_state(lo, "away")
        third = await started(auto)
        record = await conversation_record(auto, officer, third)
        assert assigned(record) == [(high, "auto", "system")], f"{low} is away"

        # The assignee acts at once: joining records no second assignment.
        await lo.send({"type": "join", "conversation_id": first})
        await lo.expect("joined")
        await lo.send({"type": "reply", "conversation_id": first, "client_id": "r1", "text": "Hi"})
        assert (await lo.expect_any("ack", "error"))["type"] == "ack"
    record = await conversation_record(auto, officer, first)
    assert [e["type"] for e in record["transcript"]] == [
        "acceptance", "assigned", "agent_joined", "message"
    ]  # fmt: skip


async def test_nobody_available_leaves_the_conversation_in_the_queue(auto: Server) -> None:
    """Rule: nobody signed in, or all away, a new conversation waits to be claimed."""
    ada = auto.add_staff("Ada Away", "agent")
    officer = auto.add_staff("Cleo Compliance", "compliance")
    nobody = await started(auto)
    record = await conversation_record(auto, officer, nobody)
    assert (assigned(record), record["conversation"]["assignee"]) == ([], None)
    async with agent(auto, ada, presence=True) as a:
        await set_state(a, "away")
        away = await started(auto)
        record = await conversation_record(auto, officer, away)
        assert (assigned(record), record["conversation"]["assignee"]) == ([], None)


async def test_without_the_setting_conversations_wait_in_the_queue(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    """Rule: auto-assignment is off by default, even with an agent available."""
    async with agent(server, agent_token, presence=True):
        conversation_id = await started(server)
    record = await conversation_record(server, compliance_token, conversation_id)
    assert assigned(record) == []


async def test_the_queue_is_given_out_when_an_agent_becomes_available(auto: Server) -> None:
    """Rule: what waited while nobody was available goes, longest waiting first, to the
    agent who signs in or comes back, as soon as they do."""
    ada = auto.add_staff("Ada Later", "agent")
    bob = auto.add_staff("Bob Later", "agent")
    officer = auto.add_staff("Cleo Compliance", "compliance")
    first, second = await started(auto), await started(auto)
    async with agent(auto, ada, presence=True) as a:
        await a.barrier()  # her hello, and what it set off, is done
        for conversation_id in (first, second):
            record = await conversation_record(auto, officer, conversation_id)
            assert assigned(record) == [("Ada Later", "auto", "system")]
        await set_state(a, "away")
        third = await started(auto)
        assert assigned(await conversation_record(auto, officer, third)) == []
        async with agent(auto, bob) as b:
            await b.barrier()
        record = await conversation_record(auto, officer, third)
        assert assigned(record) == [("Bob Later", "auto", "system")], "Ada is away"
