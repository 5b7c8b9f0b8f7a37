"""Presence through the real server: the team as visitors see it, agents available or away,
visitors online, idle or gone, away mode's e-mail, and abandoned conversations."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

import pytest

from harness import Client, Server, agent, api, conversation_record, visitor
from parley.evidence.html import render
from parley.evidence.verify import verify


@pytest.fixture
def own(make_server: Callable[..., Server]) -> Server:
    """A server of this test's own: presence counts every console and widget on it."""
    return make_server().start()


async def team(v: Client) -> str:
    return str((await v.expect("team"))["state"])


async def visitor_states(console: Client, conversation_id: str, *wanted: str) -> list[str]:
    """The states ``console`` is told for ``conversation_id``, until the last of ``wanted``."""
    seen: list[str] = []
    async with asyncio.timeout(10):
        while not seen or seen[-1] != wanted[-1]:
            for item in (await console.expect("visitor_presence"))["items"]:
                if item["conversation_id"] == conversation_id:
                    seen.append(item["state"])
    return seen


async def test_the_team_is_offline_then_available_then_away_then_offline(own: Server) -> None:
    """Item 1: the widget is told the team's state at hello and on every change."""
    token = own.add_staff("Ann Agent", "agent")
    async with visitor(own, presence=True) as v:
        assert await team(v) == "offline", "no console open"
        async with agent(own, token, presence=True) as a:
            assert await team(v) == "available", "an agent's first console makes them available"
            staff = await a.expect("staff_presence")
            assert staff["agents"] == [
                {"id": staff["agents"][0]["id"], "name": "Ann Agent", "state": "available"}
            ]
            assert staff["team"] == "available"
            await a.send({"type": "presence", "state": "away"})
            assert await team(v) == "away", "signed in, none available"
            while (await a.expect("staff_presence"))["team"] != "away":
                pass
        assert await team(v) == "offline", "the agent's last console closed"


async def test_a_second_console_takes_the_agents_state_and_both_must_close(own: Server) -> None:
    """Item 1: away is set for the agent, not the console; they are gone with their last one."""
    token = own.add_staff("Ben Agent", "agent")
    async with visitor(own, presence=True) as v:
        assert await team(v) == "offline"
        async with agent(own, token, presence=True) as first:
            assert await team(v) == "available"
            await first.send({"type": "presence", "state": "away"})
            assert await team(v) == "away"
            async with agent(own, token, presence=True) as second:
                staff = await second.expect("staff_presence")
                assert [a["state"] for a in staff["agents"]] == ["away"]
            await first.send({"type": "presence", "state": "available"})
            assert await team(v) == "available", "the first console is still open"
        assert await team(v) == "offline"


async def test_clients_that_do_not_ask_for_presence_are_sent_none(own: Server) -> None:
    """Older clients see no new frames: presence goes only to hellos that ask for it."""
    token = own.add_staff("Cid Agent", "agent")
    async with visitor(own) as v, agent(own, token) as a:
        await v.accept()
        await a.send({"type": "presence", "state": "away"})
        for c in (a, v):
            await c.barrier()
        types = {f["type"] for c in (a, v) for f in c.seen}
        assert not types & {"team", "staff_presence", "visitor_presence"}


async def test_agents_see_the_visitor_online_idle_and_gone(own: Server) -> None:
    """Item 3: heartbeats say idle or not; a closed widget is gone at once."""
    token = own.add_staff("Dee Agent", "agent")
    async with agent(own, token, presence=True) as a:
        first = await a.expect("visitor_presence")
        assert first["items"] == []
        async with visitor(own, presence=True) as v:
            conversation_id = await v.accept()
            assert await visitor_states(a, conversation_id, "online") == ["online"]
            await v.send({"type": "heartbeat", "idle": True})
            assert await visitor_states(a, conversation_id, "idle") == ["idle"]
            await v.send({"type": "heartbeat", "idle": False})
            assert await visitor_states(a, conversation_id, "online") == ["online"]
        assert await visitor_states(a, conversation_id, "gone") == ["gone"]
        async with agent(own, token, presence=True) as late:
            await late.expect("staff_presence")
            snapshot = await late.expect("visitor_presence")
            assert conversation_id not in {i["conversation_id"] for i in snapshot["items"]}


async def test_presence_frames_are_checked_like_every_other(own: Server) -> None:
    """Invariant 7: a bad presence frame is a typed error and changes nothing."""
    token = own.add_staff("Eve Agent", "agent")
    async with agent(own, token, presence=True) as a, visitor(own, presence=True) as v:
        assert await team(v) == "available"
        await a.send({"type": "presence", "state": "busy"})
        assert (await a.expect("error"))["code"] == "invalid_frame"
        await v.send({"type": "heartbeat"})
        assert (await v.expect("error"))["code"] == "invalid_frame"
        assert [f for f in await v.barrier() if f["type"] == "team"] == [], "still available"


async def test_away_mode_email_is_kept_in_the_accepted_conversation(own: Server) -> None:
    """Item 4: the e-mail is a transcript event behind the gate; a bad one is refused."""
    token = own.add_staff("Fay Agent", "agent")
    admin = own.add_staff("Compliance", "compliance")
    async with visitor(own, presence=True) as v:
        assert await team(v) == "offline"
        offer = await v.expect("policy")
        await v.send({"type": "contact", "client_id": "k0", "email": "ada@example.com"})
        assert (await v.expect("error"))["code"] == "policy_not_accepted", "the gate comes first"
        conversation_id = await v.accept_offer(offer)
        for bad in ("ada", "ada@", "ada @example.com", "ada@example", "a@b@example.com"):
            await v.send({"type": "contact", "client_id": "k1", "email": bad})
            error = await v.expect("error")
            assert (error["code"], error["client_id"]) == ("invalid_email", "k1")
        await v.send({"type": "contact", "client_id": "k2", "email": " ada@example.com "})
        ack = await v.expect("ack")
        await v.send({"type": "contact", "client_id": "k2", "email": "ada@example.com"})
        assert (await v.expect("ack"))["seq"] == ack["seq"], "a retry is not stored twice"
    record = await conversation_record(own, admin, conversation_id)
    left = [e for e in record["transcript"] if e["type"] == "contact_left"]
    assert [(e["data"], e["author"]["role"], e["client_id"]) for e in left] == [
        ({"email": "ada@example.com"}, "visitor", "k2")
    ]
    async with agent(own, token) as a:
        await a.send({"type": "join", "conversation_id": conversation_id})
        events = await a.events_until_caught_up()
        assert [e["data"] for e in events if e["type"] == "contact_left"] == [
            {"email": "ada@example.com"}
        ]


async def test_a_conversation_whose_visitor_is_gone_is_abandoned(
    make_server: Callable[..., Server],
) -> None:
    """Item 3: gone for PARLEY_ABANDON_AFTER seconds, it ends by a system event that verifies."""
    own = make_server(PARLEY_ABANDON_AFTER="0.5").start()
    token = own.add_staff("Gil Agent", "agent")
    compliance = own.add_staff("Compliance", "compliance")
    async with agent(own, token, list_updates="delta") as a:
        async with visitor(own) as v:
            conversation_id = await v.accept()
            await v.say("anyone?", "m1")
            token_v = v.token
        ended = await until_ended(a, conversation_id)
        assert ended["state"] == "abandoned"
    bundle = await evidence(own, compliance, conversation_id)
    last = bundle["transcript"][-1]
    assert (last["type"], last["author"]) == (
        "abandoned",
        {"role": "system", "id": "parley", "name": "Parley"},
    )
    assert bundle["closure"] == last, "abandoned is an ending, like resolved"
    published = (await api(own, "/api/keys")).json()["public_key"]
    report = verify(bundle, base64.b64decode(published))
    assert report.ok, report.failure
    assert "Abandoned: the visitor had gone" in render(bundle)
    async with visitor(own, token=token_v) as back:
        welcome = back.seen[0]
        assert welcome["conversation"]["state"] == "abandoned"
        assert (await back.expect("policy"))["version"], "offered a new conversation"


async def test_a_visitor_who_stays_is_never_abandoned(make_server: Callable[..., Server]) -> None:
    """Item 3: only a gone visitor's conversation ends; an idle one stays open."""
    own = make_server(PARLEY_ABANDON_AFTER="0.2").start()
    token = own.add_staff("Hal Agent", "agent")
    async with visitor(own) as v, agent(own, token, list_updates="delta") as a:
        conversation_id = await v.accept()
        await v.send({"type": "heartbeat", "idle": True})
        # Several sweeps (every 0.05 s here) pass while the visitor stays connected.
        await v.quiet(1.0)
        await a.send({"type": "join", "conversation_id": conversation_id})
        joined = await a.expect("joined")
        assert joined["conversation"]["state"] == "open"


async def until_ended(a: Client, conversation_id: str) -> dict[str, Any]:
    """The delta that removes ``conversation_id`` from a console's list."""
    async with asyncio.timeout(20):
        while True:
            for item in (await a.expect("conversation_updates", timeout=20))["items"]:
                if item["id"] == conversation_id and item.get("state", "open") != "open":
                    return dict(item)


async def evidence(server: Server, token: str, conversation_id: str) -> dict[str, Any]:
    r = await api(server, f"/api/compliance/conversations/{conversation_id}/evidence", token)
    assert r.status_code == 200, r.text
    bundle: dict[str, Any] = r.json()
    return bundle
