"""Warnings and closures through the real server for a visitor who did not read English."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import Client, RedisServer, Server, agent, api, visitor
from parley.evidence.verify import verify
from translated import GERMAN, THREATS, policies_with, translated_policies


@pytest.fixture(params=["sqlite", "redis"])
def german_server(
    request: pytest.FixtureRequest, make_server: Callable[..., Server], tmp_path: Path
) -> Iterator[Server]:
    """A server whose only policy governs in German, on SQLite or Redis."""
    policies = policies_with(tmp_path / "policies", ("conduct-v1.toml", GERMAN))
    if request.param == "sqlite":
        yield make_server(policies).start()
        return
    redis = RedisServer(tmp_path / "redis").start()
    try:
        yield make_server(policies, PARLEY_STORE=redis.url).start()
    finally:
        redis.stop()


async def next_event(v: Client, kind: str) -> dict[str, Any]:
    while (event := (await v.expect("event"))["event"])["type"] != kind:
        pass
    return event


async def test_a_german_text_is_cited_in_german_with_its_german_notice(
    german_server: Server,
) -> None:
    """Issue 16: the clause, the notice (its heading for the quoted messages too) and the bar are
    in the language the visitor accepted; a text that governs itself has nothing beside it."""
    s = german_server
    agent_token = s.add_staff("Alice Agent", "agent")
    async with visitor(s) as v:
        conversation_id = await v.accept()
        assert v.policy["text"].startswith("Verhaltensrichtlinie für den Chat\nRichtlinie conduct")
        rude = await v.say("Ich weiß, wo Sie wohnen", "m1")
        async with agent(s, agent_token) as a:
            await a.send({"type": "join", "conversation_id": conversation_id})
            joined = await a.expect("joined")
            await a.expect("caught_up")
            await a.send(
                {"type": "warn", "conversation_id": conversation_id, "clause_id": "1.2",
                 "message_seqs": [rude["seq"]]}
            )  # fmt: skip
            await a.expect("done")
            warning = await next_event(v, "warning")
            await a.send(
                {"type": "close", "conversation_id": conversation_id, "clause_id": "1.2",
                 "message_seqs": [rude["seq"]], "bar": {"hours": 1}}
            )  # fmt: skip
            await a.expect("done")
        closed = await next_event(v, "closed")
    policy = joined["policy"]
    assert (policy["language"], policy["direction"]) == ("de", "ltr")
    assert "governing" not in policy
    assert [c["title"] for c in policy["clauses"]] == ["Beleidigungen", "Drohungen"]
    assert warning["data"]["notice"] == (
        "Bitte beachten Sie Regel 1.2, „Drohungen“:\n\n"
        f"{THREATS['text']}\n\nZum Beispiel:\n- “Ich weiß, wo Sie wohnen”"
    )
    for data in (warning["data"], closed["data"]):
        assert data["clause"] == THREATS
        assert data["language"] == "de"
        assert "governing" not in data
    assert closed["data"]["notice"].startswith("Wir haben dieses Gespräch nach Regel 1.2")
    assert closed["data"]["notice"].endswith(f"Referenz: {conversation_id}")
    admin = s.add_staff("Dan Admin", "admin")
    (bar,) = (await api(s, "/api/admin/bans", admin)).json()["items"]
    assert bar["clause"] == THREATS and "governing_clause" not in bar
    compliance = s.add_staff("Carol Compliance", "compliance")
    (record,) = (await api(s, "/api/compliance/closures", compliance)).json()["items"]
    assert (record["clause_title"], record["language"]) == ("Drohungen", "de")
    assert record["governing_clause_text"] is None
    bundle = (
        await api(s, f"/api/compliance/conversations/{conversation_id}/evidence", compliance)
    ).json()
    key = base64.b64decode((await api(s, "/api/keys")).json()["public_key"])
    report = verify(bundle, key)
    assert report.ok, report.failure


async def test_a_closure_quotes_the_german_translation_and_the_governing_english_clause(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    """Issue 16: a visitor who accepted German is closed under the German clause; the agent, the
    bar, compliance and the evidence see the governing English clause beside it."""
    policies = translated_policies(tmp_path / "policies")
    s = make_server(policies).start()
    agent_token = s.add_staff("Alice Agent", "agent")
    async with visitor(s, client={"locale": "de-DE"}) as v:
        offer = await v.expect("policy")
        assert offer["language"] == "de"
        conversation_id = await v.accept_offer(offer)
        rude = await v.say("Ich weiß, wo Sie wohnen", "m1")
        async with agent(s, agent_token) as a:
            await a.send({"type": "join", "conversation_id": conversation_id})
            joined = await a.expect("joined")
            await a.expect("caught_up")
            await a.send(
                {"type": "close", "conversation_id": conversation_id, "clause_id": "1.2",
                 "message_seqs": [rude["seq"]], "bar": {"hours": 1}}
            )  # fmt: skip
            await a.expect("done")
        closed = (await next_event(v, "closed"))["data"]
    governing = joined["policy"]["governing"]
    assert governing["language"] == "en" and governing["sha256"] == offer["governing_sha256"]
    assert governing["clauses"][1]["title"] == "Threats and reprisals against staff"
    assert closed["clause"] == THREATS and closed["language"] == "de"
    assert "Zum Beispiel:\n- “Ich weiß, wo Sie wohnen”" in closed["notice"]
    english_clause = closed["governing"]["clause"]
    assert english_clause["title"] == "Threats and reprisals against staff"
    admin = s.add_staff("Dan Admin", "admin")
    (bar,) = (await api(s, "/api/admin/bans", admin)).json()["items"]
    assert bar["clause"] == THREATS and bar["governing_clause"] == english_clause
    compliance = s.add_staff("Carol Compliance", "compliance")
    (record,) = (await api(s, "/api/compliance/closures", compliance)).json()["items"]
    assert record["governing_clause_text"] == english_clause["text"]
    bundle = (
        await api(s, f"/api/compliance/conversations/{conversation_id}/evidence", compliance)
    ).json()
    key = base64.b64decode((await api(s, "/api/keys")).json()["public_key"])
    report = verify(bundle, key)
    assert report.ok, report.failure
