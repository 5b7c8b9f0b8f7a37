"""Invariants 1 and 2 through the real server: the gate, and the exact wording accepted."""

from __future__ import annotations

from typing import Any

from harness import POLICIES, Server, agent, api, conversation_record, visitor
from parley import policy_files
from parley.domain.policy import PolicyVersion


def file_version(version: int) -> PolicyVersion:
    return next(v for v in policy_files.load_folder(POLICIES) if v.version == version)


async def acceptances(server: Server, token: str, visitor_id: str) -> list[dict[str, Any]]:
    r = await api(server, f"/api/compliance/visitors/{visitor_id}/acceptances", token)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_gate_refuses_messages_before_acceptance_and_stores_nothing(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    """Invariant 1: no acceptance, no message stored or relayed."""
    async with agent(server, agent_token) as a, visitor(server) as v:
        offer = await v.expect("policy")
        for i in range(3):
            await v.send({"type": "message", "client_id": f"early-{i}", "text": "hello?"})
            error = await v.expect("error")
            assert error["code"] == "policy_not_accepted"
            assert error["client_id"] == f"early-{i}"
        assert await acceptances(server, compliance_token, v.visitor_id) == []
        # A connection is handed its news in order: whatever the refused messages had
        # announced would reach the agent before the news of the acceptance that follows.
        conversation_id = await v.accept_offer(offer)
        # Earlier tests' conversations on this shared server may still change: skip news of
        # other visitors; the first news of this one must be the acceptance alone.
        told: list[tuple[str, int, Any]] = []
        while not told:
            update = await a.recv()
            assert update["type"] == "conversation_updates", update
            mine = [c for c in update["items"] if c["visitor_id"] == v.visitor_id]
            told = [(c["id"], c["last_seq"], c["last_message"]) for c in mine]
        assert told == [(conversation_id, 1, None)], "an agent was told of a refused message"


async def test_offer_is_the_version_in_force_with_its_exact_canonical_text(server: Server) -> None:
    """Invariant 2: the visitor is shown the canonical text of the file, byte for byte."""
    v2 = file_version(2)
    async with visitor(server) as v:
        offer = await v.expect("policy")
    assert (offer["policy_id"], offer["version"], offer["sha256"]) == ("conduct", 2, v2.sha256)
    assert offer["text"].encode() == v2.text.encode()
    assert [c["id"] for c in offer["clauses"]] == list(v2.clauses)


async def test_acceptance_record_holds_exact_text_and_client_facts(
    server: Server, compliance_token: str
) -> None:
    """Invariant 2: the acceptance is event 1 and holds the full text, digest and client facts."""
    v2 = file_version(2)
    client = {"locale": "en-CA", "page_url": "https://shop.example/help", "widget_build": "w-42"}
    async with visitor(server, client=client) as v:
        conversation_id = await v.accept()
    records = await acceptances(server, compliance_token, v.visitor_id)
    assert [r["conversation_id"] for r in records] == [conversation_id]
    body = await conversation_record(server, compliance_token, conversation_id)
    first = body["transcript"][0]
    assert first["seq"] == 1 and first["type"] == "acceptance"
    record = body["acceptance"]
    assert record["text"].encode() == v2.text.encode()
    assert record["sha256"] == v2.sha256
    assert (record["policy_id"], record["version"]) == ("conduct", 2)
    assert record["visitor_id"] == v.visitor_id
    assert record["ip"] == "127.0.0.1"
    assert record["user_agent"].startswith("Python/")
    assert {k: record[k] for k in client} == client
    assert record["accepted_at"].endswith("Z")


async def test_stale_or_wrong_digest_is_refused_and_the_version_in_force_offered_again(
    server: Server, compliance_token: str
) -> None:
    """Invariant 2: a stale version (v1) or a wrong digest is refused; nothing is stored."""
    v1, v2 = file_version(1), file_version(2)
    async with visitor(server) as v:
        await v.expect("policy")
        for version, digest in [(1, v1.sha256), (2, v1.sha256), (2, "0" * 64)]:
            await v.send(
                {"type": "accept", "policy_id": "conduct", "version": version, "sha256": digest}
            )
            assert (await v.expect("error"))["code"] == "policy_mismatch"
            offer = await v.expect("policy")
            assert (offer["version"], offer["sha256"]) == (2, v2.sha256)
        await v.send({"type": "message", "client_id": "m", "text": "still gated?"})
        assert (await v.expect("error"))["code"] == "policy_not_accepted"
    assert await acceptances(server, compliance_token, v.visitor_id) == []


async def test_accepting_twice_is_refused_while_the_conversation_is_open(server: Server) -> None:
    async with visitor(server) as v:
        await v.accept()
        await v.send(
            {
                "type": "accept",
                "policy_id": v.policy["policy_id"],
                "version": v.policy["version"],
                "sha256": v.policy["sha256"],
            }
        )
        assert (await v.expect("error"))["code"] == "already_accepted"
