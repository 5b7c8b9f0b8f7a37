"""Moderation through the real server: warnings, and closures that quote the evidence."""

from __future__ import annotations

import base64

from harness import Client, Server, agent, api, conversation_record, visitor
from parley import policy_files
from parley.evidence.verify import verify


async def join(a: Client, conversation_id: str) -> None:
    await a.send({"type": "join", "conversation_id": conversation_id})
    await a.expect("caught_up")


async def test_a_warning_cites_the_accepted_clause_quotes_messages_and_keeps_the_chat_open(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    clause = policy_files.load_folder(server.policies)[1].clause("4.1")
    async with visitor(server) as v:
        conversation_id = await v.accept()
        flood = [await v.say("HELLO???", f"f{i}") for i in range(3)]
        async with agent(server, agent_token) as a:
            await join(a, conversation_id)
            await a.send(
                {"type": "warn", "conversation_id": conversation_id, "clause_id": "4.1",
                 "message_seqs": [flood[0]["seq"], flood[2]["seq"]], "note": "Please slow down."}
            )  # fmt: skip
            done = await a.expect("done")
        while (warning := (await v.expect("event"))["event"])["type"] != "warning":
            pass
        assert warning["seq"] == done["seq"]
        data = warning["data"]
        assert data["clause"] == {"id": "4.1", "title": clause.title, "text": clause.text}
        assert data["messages"] == [
            {"seq": flood[0]["seq"], "text": "HELLO???"},
            {"seq": flood[2]["seq"], "text": "HELLO???"},
        ]
        assert clause.text in data["notice"] and "“HELLO???”" in data["notice"]
        assert (await v.say("sorry", "after-warning"))["seq"] == warning["seq"] + 1
    audit = await api(
        server, f"/api/compliance/audit?conversation_id={conversation_id}", compliance_token
    )
    assert "warned" in [e["action"] for e in audit.json()["items"]]


async def test_a_closure_quotes_the_selected_messages_exactly_in_record_and_notice(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        await v.say("my order is late", "ok")
        bad = await v.say("I will find out where you live", "threat")
        async with agent(server, agent_token) as a:
            await join(a, conversation_id)
            await a.send(
                {"type": "close", "conversation_id": conversation_id, "clause_id": "1.2",
                 "message_seqs": [bad["seq"]]}
            )  # fmt: skip
            await a.expect("done")
        while (closed := (await v.expect("event"))["event"])["type"] != "closed":
            pass
    assert closed["data"]["messages"] == [
        {"seq": bad["seq"], "text": "I will find out where you live"}
    ]
    assert "“I will find out where you live”" in closed["data"]["notice"]
    assert "my order is late" not in closed["data"]["notice"]
    assert conversation_id in closed["data"]["notice"], "the visitor gets the reference to contest"
    bundle = (
        await api(
            server, f"/api/compliance/conversations/{conversation_id}/evidence", compliance_token
        )
    ).json()
    key = base64.b64decode((await api(server, "/api/keys")).json()["public_key"])
    report = verify(bundle, key)
    assert report.ok, report.failure


async def test_evidence_must_be_the_visitors_own_messages_and_a_refusal_changes_nothing(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        mine = await v.say("hello", "v1")
        async with agent(server, agent_token) as a:
            await join(a, conversation_id)
            await a.send(
                {"type": "reply", "conversation_id": conversation_id, "client_id": "r",
                 "text": "hi"}
            )  # fmt: skip
            reply = await a.expect("ack")
            before = await conversation_record(server, compliance_token, conversation_id)
            for seqs in ([reply["seq"]], [1], [mine["seq"], 99]):
                for kind in ("warn", "close"):
                    await a.send(
                        {"type": kind, "conversation_id": conversation_id, "clause_id": "1.1",
                         "message_seqs": seqs}
                    )  # fmt: skip
                    assert (await a.expect("error"))["code"] == "bad_evidence"
            await a.send(
                {"type": "warn", "conversation_id": conversation_id, "clause_id": "1.1",
                 "message_seqs": list(range(1, 23))}
            )  # fmt: skip
            assert (await a.expect("error"))["code"] == "invalid_frame"
    after = await conversation_record(server, compliance_token, conversation_id)
    assert after["transcript"] == before["transcript"]


async def test_agents_see_the_visitors_earlier_warnings_and_closures_when_joining(
    server: Server, agent_token: str
) -> None:
    async with visitor(server) as v:
        first = await v.accept()
        flood = await v.say("AAAA", "a1")
        async with agent(server, agent_token) as a:
            await join(a, first)
            await a.send(
                {"type": "warn", "conversation_id": first, "clause_id": "4.1",
                 "message_seqs": [flood["seq"]]}
            )  # fmt: skip
            await a.expect("done")
            await a.send({"type": "close", "conversation_id": first, "clause_id": "1.1"})
            await a.expect("done")
        second = await v.accept()
        async with agent(server, agent_token) as a:
            await a.send({"type": "join", "conversation_id": second})
            joined = await a.expect("joined")
    history = joined["history"]
    assert [h["conversation_id"] for h in history] == [first]
    assert [w["clause_id"] for w in history[0]["warnings"]] == ["4.1"]
    assert history[0]["closure"]["clause_id"] == "1.1"
    assert history[0]["state"] == "closed"
