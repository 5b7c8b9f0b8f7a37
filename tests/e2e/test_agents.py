"""Agents through the real server: join, reply, resolve, and close citing the accepted clause."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import Client, Server, agent, conversation_record, visitor
from parley import policy_files


async def join(a: Client, conversation_id: str) -> list[dict[str, Any]]:
    await a.send({"type": "join", "conversation_id": conversation_id})
    await a.expect("joined")
    return await a.events_until_caught_up()


async def test_join_replays_the_transcript_from_the_acceptance(
    server: Server, agent_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        await v.say("I need help", "h1")
        async with agent(server, agent_token) as a:
            events = await join(a, conversation_id)
    # Joining a queued conversation claims it first (docs/protocol.md §11).
    assert [e["type"] for e in events] == ["acceptance", "message", "assigned", "agent_joined"]
    assert events[0]["data"]["text"] == v.policy["text"]


async def test_open_conversations_are_listed_waiting_first(
    server: Server, agent_token: str
) -> None:
    """Visitors waiting for a reply come first, the longest waiting at the top."""
    async with visitor(server) as answered, visitor(server) as first, visitor(server) as second:
        answered_id = await answered.accept()
        await answered.say("hi", "a")
        first_id = await first.accept()
        await first.say("waiting since before", "f")
        second_id = await second.accept()
        await second.say("waiting too", "s")
        async with agent(server, agent_token) as a:
            await join(a, answered_id)
            reply = {"type": "reply", "conversation_id": answered_id, "client_id": "r"}
            await a.send({**reply, "text": "answered"})
            await a.expect("ack")
            await a.send({"type": "list"})
            listed = [c["id"] for c in (await a.expect("conversations"))["items"]]
    ours = [c for c in listed if c in (answered_id, first_id, second_id)]
    assert ours == [first_id, second_id, answered_id]


async def test_reply_requires_join_and_is_idempotent(server: Server, agent_token: str) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            reply = {"type": "reply", "conversation_id": conversation_id, "client_id": "once"}
            await a.send({**reply, "text": "hello"})
            assert (await a.expect("error"))["code"] == "not_assignee"
            await a.send({"type": "claim", "conversation_id": conversation_id})
            await a.expect("done")
            await a.send({**reply, "text": "hello"})
            assert (await a.expect("error"))["code"] == "not_joined", "claiming is not joining"
            await join(a, conversation_id)
            await a.send({**reply, "text": "hello"})
            first = await a.expect("ack")
            await a.send({**reply, "text": "hello"})
            assert await a.expect("ack") == first


async def test_close_for_violation_in_one_action(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    """One frame closes, cites the clause's exact text, notifies the visitor, ends the chat."""
    clause = policy_files.load_folder(server.policies)[1].clause("1.2")
    async with visitor(server) as v:
        conversation_id = await v.accept()
        await v.say("I know where you live", "threat")
        async with agent(server, agent_token) as a:
            await join(a, conversation_id)
            close = {"type": "close", "conversation_id": conversation_id, "clause_id": "1.2"}
            await a.send({**close, "note": "threat against staff"})
            done = await a.expect("done")
        notice = (await v.expect("event"))["event"]
        while notice["type"] != "closed":
            notice = (await v.expect("event"))["event"]
        assert notice["seq"] == done["seq"]
        assert notice["data"]["clause"] == {"id": "1.2", "title": clause.title, "text": clause.text}
        assert notice["author"]["name"] == "Alice Agent"
        again = await v.expect("policy")
        assert again["version"] == 2, "a new conversation needs a new acceptance"
        await v.send({"type": "message", "client_id": "after", "text": "hello?"})
        assert (await v.expect("error"))["code"] == "conversation_closed"
    stored = await conversation_record(server, compliance_token, conversation_id)
    assert stored["conversation"]["state"] == "closed"
    assert stored["closure"]["data"]["clause"]["text"] == clause.text
    assert stored["closure"]["data"]["note"] == "threat against staff"
    assert stored["transcript"][-1]["type"] == "closed", "nothing stored after the closure"


async def test_closed_means_closed_for_agents_too_and_a_new_conversation_needs_acceptance(
    server: Server, agent_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            await join(a, conversation_id)
            await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "4.1"})
            await a.expect("done")
            reply = {"type": "reply", "conversation_id": conversation_id, "client_id": "late"}
            await a.send({**reply, "text": "sorry"})
            assert (await a.expect("error"))["code"] == "conversation_closed"
        new_id = await v.accept()
        assert new_id != conversation_id
        assert (await v.say("a fresh start", "fresh"))["conversation_id"] == new_id


async def test_unknown_clause_is_refused_and_changes_nothing(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            await join(a, conversation_id)
            before = await conversation_record(server, compliance_token, conversation_id)
            await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "9.9"})
            error = await a.expect("error")
            assert error["code"] == "unknown_clause"
            assert error["conversation_id"] == conversation_id
        assert await conversation_record(server, compliance_token, conversation_id) == before
        assert (await v.say("still open", "open"))["seq"] == before["conversation"]["last_seq"] + 1


async def test_two_agents_closing_at_once_produce_exactly_one_closure(
    server: Server, agent_token: str, admin_token: str, compliance_token: str
) -> None:
    """The assignee and an admin (the only others who may act) close at once."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a, agent(server, admin_token) as b:
            await join(a, conversation_id)
            await join(b, conversation_id)
            close = {"type": "close", "conversation_id": conversation_id}
            await asyncio.gather(
                a.send({**close, "clause_id": "1.1"}), b.send({**close, "clause_id": "1.3"})
            )
            outcomes = sorted(
                [
                    (await a.expect_any("done", "error"))["type"],
                    (await b.expect_any("done", "error"))["type"],
                ]
            )
    assert outcomes == ["done", "error"]
    closures = [
        e
        for e in (await conversation_record(server, compliance_token, conversation_id))[
            "transcript"
        ]
        if e["type"] == "closed"
    ]
    assert len(closures) == 1


async def test_resolve_ends_the_conversation_without_a_violation(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            await join(a, conversation_id)
            await a.send({"type": "resolve", "conversation_id": conversation_id, "note": "fixed"})
            await a.expect("done")
        await v.expect("policy")
    stored = await conversation_record(server, compliance_token, conversation_id)
    assert stored["conversation"]["state"] == "resolved"
    assert stored["closure"]["type"] == "resolved"


async def test_closure_cites_the_version_the_visitor_accepted_not_the_current_one(
    make_server: Callable[..., Server], policies: Path, tmp_path: Path
) -> None:
    """Invariant 4: a conversation accepted under v1 is closed with v1's clause text,
    even after v2 (which reworded that clause) came into force."""
    v1_only = tmp_path / "v1-only"
    v1_only.mkdir()
    shutil.copy(policies / "policy.schema.json", v1_only)
    shutil.copy(policies / "conduct-v1.toml", v1_only)
    data = tmp_path / "data"
    first = make_server(v1_only, data).start()
    token = first.add_staff("Alice Agent", "agent")
    compliance = first.add_staff("Carol", "compliance")
    async with visitor(first) as v:
        conversation_id = await v.accept()
        assert v.policy["version"] == 1
    first.stop()

    upgraded = make_server(policies, data).start()
    v1, v2 = sorted(policy_files.load_folder(policies), key=lambda p: p.version)
    assert v1.clause("1.1").text != v2.clause("1.1").text, "the test needs a reworded clause"
    async with visitor(upgraded) as newcomer:
        assert (await newcomer.expect("policy"))["version"] == 2
    async with agent(upgraded, token) as a:
        await join(a, conversation_id)
        close = {"type": "close", "conversation_id": conversation_id}
        await a.send({**close, "clause_id": "1.4"})
        assert (await a.expect("error"))["code"] == "unknown_clause", "1.4 exists only in v2"
        await a.send({**close, "clause_id": "1.1"})
        await a.expect("done")
    closure = (await conversation_record(upgraded, compliance, conversation_id))["closure"]["data"]
    assert (closure["version"], closure["sha256"]) == (1, v1.sha256)
    assert closure["clause"]["text"] == v1.clause("1.1").text


async def test_list_updates_merge_a_burst_and_end_on_the_newest_summary(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    """A burst of changes reaches the list as few frames, each conversation once per frame
    with its newest summary, never an older one after a newer one."""
    burst = 30
    async with agent(server, agent_token) as a, visitor(server) as v:
        conversation_id = await v.accept()
        for i in range(burst):
            await v.send({"type": "message", "client_id": f"b{i}", "text": f"burst {i}"})
        seen: list[int] = []
        frames = 0
        while not seen or seen[-1] < burst + 1:
            update = await a.expect("conversation_updates")
            mine = [c for c in update["items"] if c["id"] == conversation_id]
            assert len(mine) <= 1, "one summary per conversation per frame"
            if mine:
                frames += 1
                seen.append(mine[0]["last_seq"])
    assert seen == sorted(set(seen)), "summaries only move forward"
    assert frames < burst + 1, f"{burst + 1} changes were not merged ({frames} frames)"
    record = await conversation_record(server, compliance_token, conversation_id)
    assert record["conversation"]["last_seq"] == seen[-1] == burst + 1
