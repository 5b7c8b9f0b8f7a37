"""Visitor context, earlier transcripts and the search of ended conversations, for agents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from harness import Client, RedisServer, Server, agent, api, conversation_record, visitor

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
CLIENT = {
    "locale": "fr-CA",
    "time_zone": "America/Toronto",
    "page_url": "https://shop.example/help?order=42",
}


async def join(a: Client, conversation_id: str) -> dict[str, Any]:
    await a.send({"type": "join", "conversation_id": conversation_id})
    joined = await a.expect("joined")
    await a.events_until_caught_up()
    return joined


async def warned_and_closed(server: Server, token: str) -> tuple[str, str]:
    """A visitor warned then closed under clause 1.1 in their first conversation, who then
    opened a second; the two conversation ids."""
    async with visitor(server, {"User-Agent": FIREFOX}, client=CLIENT) as v:
        first = await v.accept()
        said = await v.say("AAAA", "a1")
        async with agent(server, token) as a:
            await join(a, first)
            await a.send(
                {"type": "warn", "conversation_id": first, "clause_id": "4.1",
                 "message_seqs": [said["seq"]]}
            )  # fmt: skip
            await a.expect("done")
            await a.send({"type": "close", "conversation_id": first, "clause_id": "1.1"})
            await a.expect("done")
        return first, await v.accept()


async def test_joined_tells_the_agent_the_visitors_page_browser_locale_zone_and_address(
    server: Server, agent_token: str
) -> None:
    async with visitor(server, {"User-Agent": FIREFOX}, client=CLIENT) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            joined = await join(a, conversation_id)
    assert joined["visitor"] == {
        **CLIENT,
        "user_agent": FIREFOX,
        "browser": {"name": "Firefox", "version": "133", "os": "Windows", "device": None},
        "ip": "127.0.0.1",
    }


async def test_an_unknown_or_absent_client_is_told_as_unknown(
    server: Server, agent_token: str
) -> None:
    async with visitor(server, {"User-Agent": "x" * 4000}) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            joined = await join(a, conversation_id)
    context = joined["visitor"]
    assert context["browser"] == {"name": None, "version": None, "os": None, "device": None}
    assert (context["page_url"], context["locale"], context["time_zone"]) == (None, None, None)


async def test_an_earlier_conversation_opens_read_only_with_acceptance_warning_and_closure(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    first, second = await warned_and_closed(server, agent_token)
    async with agent(server, agent_token) as a:
        joined = await join(a, second)
        assert [h["conversation_id"] for h in joined["history"]] == [first]
        await a.send({"type": "read_transcript", "conversation_id": first})
        seen = await a.barrier()
        await a.send({"type": "reply", "conversation_id": first, "client_id": "r", "text": "x"})
        refused = await a.expect("error")
    [shown] = seen
    assert shown["type"] == "transcript", "one answer: no join, no events, no caught_up"
    record = await conversation_record(server, compliance_token, first)
    assert shown["events"] == record["transcript"]
    assert [e["type"] for e in shown["events"]] == [
        "acceptance", "message", "assigned", "agent_joined", "warning", "closed"
    ]  # fmt: skip
    assert shown["events"][0]["data"]["text"] == shown["policy"]["text"]
    assert shown["conversation"]["state"] == "closed"
    assert shown["visitor"]["browser"]["name"] == "Firefox"
    assert refused["code"] == "conversation_closed", "the view joined nothing"


async def test_an_open_conversation_can_be_read_without_joining_it(
    server: Server, agent_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            await a.send({"type": "read_transcript", "conversation_id": conversation_id})
            shown = await a.expect("transcript")
            await v.say("still there?", "s1")
            await a.send({"type": "read_transcript", "conversation_id": conversation_id})
            again = await a.expect("transcript")
            news = [f["type"] for f in await a.barrier()]
    assert [e["type"] for e in shown["events"]] == ["acceptance"], "no agent_joined recorded"
    assert [e["type"] for e in again["events"]] == ["acceptance", "message"]
    assert "event" not in news, "reading watches nothing"


async def test_reading_an_unknown_conversation_is_a_typed_error(
    server: Server, agent_token: str
) -> None:
    async with agent(server, agent_token) as a:
        await a.send({"type": "read_transcript", "conversation_id": "c_nonexistent"})
        assert (await a.expect("error"))["code"] == "not_found"


async def ended(server: Server, token: str | None, **query: str) -> httpx.Response:
    return await api(server, f"/api/conversations/ended?{httpx.QueryParams(query)}", token)


async def test_ended_conversations_are_found_by_visitor_id_conversation_id_and_date(
    server: Server, agent_token: str
) -> None:
    first, second = await warned_and_closed(server, agent_token)
    async with visitor(server) as other:
        theirs = await other.accept()
        async with agent(server, agent_token) as a:
            await join(a, theirs)
            await a.send({"type": "resolve", "conversation_id": theirs})
            await a.expect("done")
    by_visitor = await ended(server, agent_token, visitor_id=other.visitor_id)
    assert [c["id"] for c in by_visitor.json()["items"]] == [theirs]
    by_id = (await ended(server, agent_token, conversation_id=first)).json()
    assert [c["id"] for c in by_id["items"]] == [first]
    assert by_id["items"][0]["state"] == "closed"
    assert (await ended(server, agent_token, conversation_id=second)).json()["items"] == []
    today = by_id["items"][0]["ended_at"][:10]
    day = {"since": f"{today}T00:00:00Z", "until": f"{today}T23:59:59.999Z"}
    on_the_day = [c["id"] for c in (await ended(server, agent_token, **day)).json()["items"]]
    assert on_the_day[:2] == [theirs, first], "latest ended first"
    before = {"until": f"{today}T00:00:00Z"}
    assert (await ended(server, agent_token, **before)).json()["items"] == []


async def test_ended_conversations_page_by_signed_cursors(server: Server, agent_token: str) -> None:
    ids = []
    async with agent(server, agent_token) as a:
        for _ in range(3):
            async with visitor(server) as v:
                conversation_id = await v.accept()
                await join(a, conversation_id)
                await a.send({"type": "resolve", "conversation_id": conversation_id})
                await a.expect("done")
                ids.append(conversation_id)
    seen: list[str] = []
    query = {"limit": "1"}
    while True:
        page = (await ended(server, agent_token, **query)).json()
        seen += [c["id"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        query = {"limit": "1", "cursor": page["next_cursor"]}
    assert seen[:3] == ids[::-1]
    first = (await ended(server, agent_token, limit="1")).json()["next_cursor"]
    forged = first.split(".")[0] + "." + "A" * 22
    elsewhere = await ended(server, agent_token, limit="1", visitor_id="v_x", cursor=first)
    for bad in (await ended(server, agent_token, cursor=forged), elsewhere):
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "bad_request"


async def test_bad_search_parameters_are_typed_400s_and_staff_only(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    for query in (
        {"since": "yesterday"},
        {"until": "2026-11-01T00:00:00"},
        {"since": "0001-01-01T00:00:00+01:00"},
        {"limit": "0"},
        {"limit": "99999999999999999999999"},
        {"cursor": "12"},
        {"cursor": "x" * 5000},
        {"visitor_id": "v" * 300},
        {"conversation_id": ""},
        {"state": "open"},
    ):
        r = await ended(server, agent_token, **query)
        assert r.status_code == 400, (query, r.text)
        assert r.json()["error"]["code"] == "bad_request", query
    assert (await ended(server, None)).status_code == 401
    assert (await ended(server, compliance_token)).status_code == 403


async def test_a_conversation_ended_on_one_process_is_found_and_read_on_another(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    """On Redis, the ended index is fed by the ending's outbox record, whichever process
    ended it: B's search and B's read_transcript see what A did."""
    redis_db = RedisServer(tmp_path / "redis").start()
    try:
        env = {"PARLEY_STORE": redis_db.url, "PARLEY_SIGNING_KEY": str(tmp_path / "key.pem")}
        a = make_server(data_dir=tmp_path / "a", **env).start()
        b = make_server(data_dir=tmp_path / "b", **env).start()
        token = a.add_staff("Ann on A", "agent")
        async with visitor(a, client=CLIENT) as v, agent(a, token) as staff:
            conversation_id = await v.accept()
            await join(staff, conversation_id)
            await staff.send({"type": "resolve", "conversation_id": conversation_id})
            await staff.expect("done")
        found = (await ended(b, token, visitor_id=v.visitor_id)).json()
        assert [c["id"] for c in found["items"]] == [conversation_id]
        async with agent(b, token) as other:
            await other.send({"type": "read_transcript", "conversation_id": conversation_id})
            shown = await other.expect("transcript")
        assert [e["type"] for e in shown["events"]][-1] == "resolved"
        assert shown["visitor"]["page_url"] == CLIENT["page_url"]
    finally:
        redis_db.stop()
