"""Queue and assignment through the real server: claim, join, transfer, release, observe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import (
    Client,
    RedisServer,
    Server,
    agent,
    api,
    conversation_record,
    joined,
    two_processes,
    visitor,
)


async def staff_ids(a: Client) -> dict[str, str]:
    """Name -> id of every staff member the console may transfer to."""
    await a.send({"type": "staff"})
    return {s["name"]: s["id"] for s in (await a.expect("staff"))["items"]}


async def ask(a: Client, frame: dict[str, Any]) -> dict[str, Any]:
    """Send ``frame``; its ``done`` or ``error`` answer."""
    await a.send(frame)
    return await a.expect_any("done", "error")


async def claim(a: Client, conversation_id: str) -> dict[str, Any]:
    return await ask(a, {"type": "claim", "conversation_id": conversation_id})


async def join(a: Client, conversation_id: str, kind: str = "join") -> dict[str, Any]:
    """``joined`` (or ``observing``) after the events up to ``caught_up``; or the error."""
    await a.send({"type": kind, "conversation_id": conversation_id})
    answer = await a.expect_any("joined", "observing", "error")
    if answer["type"] != "error":
        await a.events_until_caught_up()
    return answer


def one_winner(outcomes: list[dict[str, Any]], first: str, second: str) -> str:
    """Of two claims at once (``first``'s, then ``second``'s): one is done, the other gets
    already_assigned; the winner's name."""
    kinds = sorted(o["type"] if o["type"] == "done" else o["code"] for o in outcomes)
    assert kinds == ["already_assigned", "done"]
    return first if outcomes[0]["type"] == "done" else second


def assigned(record: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    """(agent name, reason, by name) of each assigned event of a conversation's record."""
    return [
        ((e["data"]["agent"] or {}).get("name"), e["data"]["reason"], e["data"]["by"]["name"])
        for e in record["transcript"]
        if e["type"] == "assigned"
    ]


async def audit(server: Server, token: str, conversation_id: str) -> list[dict[str, Any]]:
    r = await api(server, f"/api/compliance/audit?conversation_id={conversation_id}", token)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_claim_race_has_exactly_one_winner(
    server: Server, agent_token: str, second_agent_token: str, compliance_token: str
) -> None:
    """Rule: of two agents claiming at once, one holds it, the other gets already_assigned."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        await v.say("anyone there?", "q")
        async with agent(server, agent_token) as a, agent(server, second_agent_token) as b:
            outcomes = await asyncio.gather(claim(a, conversation_id), claim(b, conversation_id))
    winner = one_winner(outcomes, "Alice Agent", "Bob Agent")
    record = await conversation_record(server, compliance_token, conversation_id)
    assert assigned(record) == [(winner, "claimed", winner)]
    assert record["conversation"]["assignee"]["name"] == winner
    entries = await audit(server, compliance_token, conversation_id)
    assert [(e["action"], e["details"], e["actor"]["name"]) for e in entries] == [
        (
            "assigned",
            {"seq": 3, "reason": "claimed", "agent_id": record["conversation"]["assignee"]["id"]},
            winner,
        )
    ]


async def test_join_claims_from_the_queue_and_the_list_shows_the_assignee(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with visitor(server) as v, agent(server, agent_token) as a:
        conversation_id = await v.accept()
        joined = await join(a, conversation_id)
        assert joined["conversation"]["assignee"]["name"] == "Alice Agent"
        await a.send({"type": "list"})
        listed = {c["id"]: c for c in (await a.expect("conversations"))["items"]}
        assert listed[conversation_id]["assignee"]["name"] == "Alice Agent"
    record = await conversation_record(server, compliance_token, conversation_id)
    assert [e["type"] for e in record["transcript"]] == ["acceptance", "assigned", "agent_joined"]
    assert assigned(record) == [("Alice Agent", "claimed", "Alice Agent")]


async def test_another_agent_is_refused_and_nothing_changes(
    server: Server, agent_token: str, second_agent_token: str, compliance_token: str
) -> None:
    """Rule: only the assignee (or an admin) acts; join, reply, warn, close, resolve,
    release and transfer by another agent get not_assignee and store nothing."""
    async with visitor(server) as v, agent(server, agent_token) as a:
        conversation_id = await v.accept()
        await v.say("my parcel is late", "m")
        await join(a, conversation_id)
        before = await conversation_record(server, compliance_token, conversation_id)
        async with agent(server, second_agent_token) as b:
            ids = await staff_ids(b)
            target = {"conversation_id": conversation_id}
            refused = [
                await join(b, conversation_id),
                await ask(b, {"type": "reply", **target, "client_id": "b1", "text": "hi"}),
                await ask(b, {"type": "warn", **target, "clause_id": "4.1"}),
                await ask(b, {"type": "close", **target, "clause_id": "1.1"}),
                await ask(b, {"type": "resolve", **target}),
                await ask(b, {"type": "release", **target}),
                await ask(b, {"type": "transfer", **target, "to": ids["Bob Agent"]}),
                await claim(b, conversation_id),
            ]
        assert [r.get("code") for r in refused] == ["not_assignee"] * 7 + ["already_assigned"]
        assert all(r["conversation_id"] == conversation_id for r in refused)
        assert "Alice Agent" in refused[0]["message"]
        await v.barrier()
        last_seq = before["conversation"]["last_seq"]
        relayed = [f for f in v.seen if f["type"] == "event" and f["event"]["seq"] > last_seq]
    assert relayed == [], "the visitor was told of nothing new"
    assert await conversation_record(server, compliance_token, conversation_id) == before


async def test_an_admin_joins_and_acts_without_taking_it(
    server: Server, agent_token: str, admin_token: str, compliance_token: str
) -> None:
    async with (
        joined(server, agent_token) as (_, _, conversation_id),
        agent(server, admin_token) as admin,
    ):
        answer = await join(admin, conversation_id)
        assert answer["type"] == "joined"
        reply = {"conversation_id": conversation_id, "client_id": "d1", "text": "Dan here"}
        await admin.send({"type": "reply", **reply})
        await admin.expect("ack")
    record = await conversation_record(server, compliance_token, conversation_id)
    assert record["conversation"]["assignee"]["name"] == "Alice Agent"
    assert assigned(record) == [("Alice Agent", "claimed", "Alice Agent")]


async def test_transfer_hands_it_over_and_only_the_new_assignee_acts(
    server: Server, agent_token: str, second_agent_token: str, compliance_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a, agent(server, second_agent_token) as b:
            await join(a, conversation_id)
            ids = await staff_ids(a)
            assert "Carol Compliance" not in ids, "only staff who may chat are listed"
            target = {"type": "transfer", "conversation_id": conversation_id}
            done = await ask(a, {**target, "to": ids["Bob Agent"]})
            assert (done["type"], done["request"]) == ("done", "transfer")
            reply = {"type": "reply", "conversation_id": conversation_id, "text": "still me"}
            assert (await ask(a, {**reply, "client_id": "a1"}))["code"] == "not_assignee"
            assert (await join(b, conversation_id))["type"] == "joined"
            await b.send({**reply, "client_id": "b1", "text": "Bob here, taking over"})
            await b.expect("ack")
    record = await conversation_record(server, compliance_token, conversation_id)
    assert assigned(record) == [
        ("Alice Agent", "claimed", "Alice Agent"),
        ("Bob Agent", "transferred", "Alice Agent"),
    ]
    texts = [e["data"]["text"] for e in record["transcript"] if e["type"] == "message"]
    assert texts == ["Bob here, taking over"]
    entries = await audit(server, compliance_token, conversation_id)
    assert [(e["action"], e["details"].get("reason")) for e in entries][:3] == [
        ("assigned", "claimed"),
        ("agent_joined", None),
        ("assigned", "transferred"),
    ]


async def test_transfer_only_to_an_active_chat_agent(
    server: Server, agent_token: str, compliance_token: str, admin_token: str
) -> None:
    """Rule: a transfer to an unknown id, a compliance officer or a revoked agent is
    refused with unknown_agent, and changes nothing."""
    gone = server.add_staff("Gina Gone", "agent")
    async with agent(server, gone) as g:
        gone_id = (await staff_ids(g))["Gina Gone"]
    assert server.cli("agents", "revoke", gone_id).returncode == 0
    async with joined(server, agent_token) as (_, a, conversation_id):
        before = await conversation_record(server, compliance_token, conversation_id)
        async with agent(server, admin_token) as admin:
            everyone = await staff_ids(admin)
        assert "Gina Gone" not in everyone
        compliance_id = await staff_id_of(server, admin_token, "Carol Compliance")
        target = {"type": "transfer", "conversation_id": conversation_id}
        for to in ("s_nobodyNobody00", compliance_id, gone_id):
            refused = await ask(a, {**target, "to": to})
            assert refused.get("code") == "unknown_agent", refused
    assert await conversation_record(server, compliance_token, conversation_id) == before


async def staff_id_of(server: Server, admin_token: str, name: str) -> str:
    r = await api(server, "/api/admin/staff", admin_token)
    assert r.status_code == 200, r.text
    return next(s["id"] for s in r.json()["items"] if s["name"] == name)


async def test_release_puts_it_back_in_the_queue_for_another_to_claim(
    server: Server, agent_token: str, second_agent_token: str, compliance_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a, agent(server, second_agent_token) as b:
            await join(a, conversation_id)
            released = await ask(a, {"type": "release", "conversation_id": conversation_id})
            assert released["type"] == "done"
            await b.send({"type": "list"})
            listed = {c["id"]: c for c in (await b.expect("conversations"))["items"]}
            assert listed[conversation_id]["assignee"] is None
            assert (await claim(b, conversation_id))["type"] == "done"
    record = await conversation_record(server, compliance_token, conversation_id)
    assert assigned(record) == [
        ("Alice Agent", "claimed", "Alice Agent"),
        (None, "released", "Alice Agent"),
        ("Bob Agent", "claimed", "Bob Agent"),
    ]


async def test_observe_watches_live_without_joining_and_cannot_act(
    server: Server, agent_token: str, second_agent_token: str, compliance_token: str
) -> None:
    """Rule: observing records nothing and assigns nothing; the observer sees the snapshot
    and live events, and every action of theirs is refused."""
    async with visitor(server) as v, agent(server, agent_token) as a:
        conversation_id = await v.accept()
        await v.say("first", "m1")
        await join(a, conversation_id)
        async with agent(server, second_agent_token) as b:
            before = await conversation_record(server, compliance_token, conversation_id)
            await b.send({"type": "observe", "conversation_id": conversation_id})
            observing = await b.expect("observing")
            seen = await b.events_until_caught_up()
            assert observing["conversation"]["assignee"]["name"] == "Alice Agent"
            assert observing["policy"]["sha256"] == v.policy["sha256"]
            assert [e["type"] for e in seen] == [e["type"] for e in before["transcript"]]
            assert await conversation_record(server, compliance_token, conversation_id) == before
            await v.say("live now", "m2")
            live = (await b.expect("event"))["event"]
            assert live["data"]["text"] == "live now"
            reply = {"conversation_id": conversation_id, "client_id": "b1", "text": "hi"}
            refused = await ask(b, {"type": "reply", **reply})
            assert refused["code"] == "not_assignee"
            after = await conversation_record(server, compliance_token, conversation_id)
    assert after["conversation"]["last_seq"] == before["conversation"]["last_seq"] + 1
    assert after["conversation"]["agents"] == before["conversation"]["agents"]
    assert assigned(after) == [("Alice Agent", "claimed", "Alice Agent")]


async def test_an_admin_may_observe_a_queued_conversation_without_claiming_it(
    server: Server, admin_token: str, compliance_token: str
) -> None:
    async with visitor(server) as v, agent(server, admin_token) as admin:
        conversation_id = await v.accept()
        observing = await join(admin, conversation_id, "observe")
        assert (observing["type"], observing["conversation"]["assignee"]) == ("observing", None)
    record = await conversation_record(server, compliance_token, conversation_id)
    assert [e["type"] for e in record["transcript"]] == ["acceptance"]


async def test_a_claim_race_across_two_processes_on_redis_has_exactly_one_winner(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path
) -> None:
    """Rule: with two processes sharing Redis, of two agents claiming at once — one on each
    process — exactly one wins, every time; the other gets already_assigned."""
    a, b = two_processes(make_server, redis_server, tmp_path)
    ann, bea = a.add_staff("Ann on A", "agent"), b.add_staff("Bea on B", "agent")
    compliance = a.add_staff("Carol", "compliance")
    async with agent(a, ann) as on_a, agent(b, bea) as on_b:
        for _ in range(5):
            async with visitor(a) as v:
                conversation_id = await v.accept()
            # Both watch it first, as supervisors would, then claim at once.
            await on_a.send({"type": "observe", "conversation_id": conversation_id})
            await on_b.send({"type": "observe", "conversation_id": conversation_id})
            await on_a.expect("caught_up")
            await on_b.expect("caught_up")
            outcomes = await asyncio.gather(
                claim(on_a, conversation_id), claim(on_b, conversation_id)
            )
            winner = one_winner(outcomes, "Ann on A", "Bea on B")
            record = await conversation_record(b, compliance, conversation_id)
            assert assigned(record) == [(winner, "claimed", winner)]
            assert record["chain"]["intact"]


async def test_an_admin_may_transfer_any_conversation_even_to_themselves(
    server: Server, agent_token: str, admin_token: str, compliance_token: str
) -> None:
    async with joined(server, agent_token) as (_, a, conversation_id):
        async with agent(server, admin_token) as admin:
            ids = await staff_ids(admin)
            target = {"type": "transfer", "conversation_id": conversation_id}
            assert (await ask(admin, {**target, "to": ids["Dan Admin"]}))["type"] == "done"
        reply = {"type": "reply", "conversation_id": conversation_id, "client_id": "a2"}
        assert (await ask(a, {**reply, "text": "me again"}))["code"] == "not_assignee"
    record = await conversation_record(server, compliance_token, conversation_id)
    assert assigned(record)[-1] == ("Dan Admin", "transferred", "Dan Admin")
