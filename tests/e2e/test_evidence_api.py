"""Evidence, compliance queries, the audit trail and token management through the real server."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from harness import Server, agent, api, closed_conversation, visitor
from parley.evidence.verify import verify


async def test_evidence_bundle_over_http_verifies_offline_with_the_published_key(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    """Invariant 5: the bundle a compliance officer downloads verifies with the public key."""
    conversation_id = await closed_conversation(server, agent_token, "1.2")
    r = await api(
        server, f"/api/compliance/conversations/{conversation_id}/evidence", compliance_token
    )
    assert r.status_code == 200, r.text
    bundle = r.json()
    published = (await api(server, "/api/keys")).json()["public_key"]
    report = verify(bundle, base64.b64decode(published))
    assert report.ok, report.failure
    assert bundle["closure"]["data"]["clause"]["id"] == "1.2"
    assert [a["name"] for a in bundle["agents"]] == ["Alice Agent"]
    actions = [e["action"] for e in bundle["audit"]]
    assert actions[:4] == ["assigned", "agent_joined", "replied", "closed"]
    assert actions[-1] == "evidence_exported"
    assert bundle["audit"][-1]["actor"]["name"] == "Carol Compliance"

    page = await api(
        server, f"/api/compliance/conversations/{conversation_id}/evidence?format=html",
        compliance_token,
    )  # fmt: skip
    assert page.headers["content-type"].startswith("text/html")
    assert conversation_id in page.text
    wrong = await api(
        server, f"/api/compliance/conversations/{conversation_id}/evidence?format=docx",
        compliance_token,
    )  # fmt: skip
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "bad_request"
    denied = await api(
        server, f"/api/compliance/conversations/{conversation_id}/evidence", agent_token
    )
    assert denied.status_code == 403


async def test_acceptances_filter_by_visitor_version_and_time_as_json_and_csv(
    server: Server, compliance_token: str
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    facts = {"locale": "de-DE", "page_url": '=HYPERLINK("http://evil.example")'}
    affirmation = "Ticked “I have read and accept the Conduct Policy v2” and pressed “Start chat”"
    async with visitor(server, client=facts) as v:
        conversation_id = await v.accept(affirmation=affirmation)
    query = f"/api/compliance/acceptances?visitor_id={v.visitor_id}"
    listed = (await api(server, query, compliance_token)).json()
    assert [a["conversation_id"] for a in listed["items"]] == [conversation_id]
    assert "text" not in listed["items"][0], "lists carry the digest; the record has the text"
    since = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = await api(
        server, f"/api/compliance/acceptances?since={since}&limit=500", compliance_token
    )
    assert conversation_id in [a["conversation_id"] for a in recent.json()["items"]]
    long_ago = await api(server, f"{query}&since=0999-01-01T00:00:00Z", compliance_token)
    assert [a["conversation_id"] for a in long_ago.json()["items"]] == [conversation_id]
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    none = await api(server, f"/api/compliance/acceptances?since={later}", compliance_token)
    assert none.json()["items"] == []
    other_version = await api(server, f"{query}&policy_id=conduct&version=1", compliance_token)
    assert other_version.json()["items"] == []

    sheet = await api(server, f"{query}&format=csv", compliance_token)
    assert sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [r["conversation_id"] for r in rows] == [conversation_id]
    assert rows[0]["page_url"].startswith("'="), "a formula is defused for spreadsheets"
    assert rows[0]["affirmation"] == affirmation, "the export keeps the affirmative act"
    assert set(rows[0]) == set(listed["items"][0]), "the sheet has every field the JSON has"
    bad = await api(server, "/api/compliance/acceptances?since=yesterday", compliance_token)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"


async def test_closures_under_a_clause_with_counts(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    first = await closed_conversation(server, agent_token, "3.1")
    second = await closed_conversation(server, agent_token, "3.1")
    other = await closed_conversation(server, agent_token, "3.2")
    body = (await api(server, "/api/compliance/closures?clause_id=3.1", compliance_token)).json()
    listed = [c["conversation_id"] for c in body["items"]]
    assert first in listed and second in listed and other not in listed
    assert all(c["clause_id"] == "3.1" for c in body["items"])
    assert body["items"][0]["clause_text"], "the exact clause text travels with each closure"
    counts = {(c["version"], c["clause_id"]): c["count"] for c in body["counts"]}
    assert counts[(2, "3.1")] >= 2
    everything = (await api(server, "/api/compliance/closures", compliance_token)).json()
    all_counts = {(c["version"], c["clause_id"]): c["count"] for c in everything["counts"]}
    assert all_counts[(2, "3.2")] >= 1 and all_counts[(2, "3.1")] == counts[(2, "3.1")]
    sheet = await api(server, "/api/compliance/closures?clause_id=3.1&format=csv", compliance_token)
    assert {r["clause_id"] for r in csv.DictReader(io.StringIO(sheet.text))} == {"3.1"}


def utc_ms(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


async def test_closures_are_found_by_when_they_were_closed_acceptances_by_when_accepted(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    """Compliance staff ask "what was closed last week": ``since``/``until`` on /closures
    apply to the closure time, on /acceptances to the acceptance time."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        await asyncio.sleep(0.05)
        between = utc_ms(datetime.now(UTC))
        await asyncio.sleep(0.05)
        async with agent(server, agent_token) as a:
            await a.send({"type": "claim", "conversation_id": conversation_id})
            await a.expect("done")
            await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "2.2"})
            await a.expect("done")

    async def found(listing: str, query: str) -> list[str]:
        path = f"/api/compliance/{listing}?visitor_id={v.visitor_id}&{query}"
        return [
            i["conversation_id"]
            for i in (await api(server, path, compliance_token)).json()["items"]
        ]

    assert await found("closures", f"since={between}") == [conversation_id]
    assert await found("closures", f"until={between}") == []
    assert await found("acceptances", f"since={between}") == []
    assert await found("acceptances", f"until={between}") == [conversation_id]
    counted = await api(
        server,
        f"/api/compliance/closures?visitor_id={v.visitor_id}&since={between}",
        compliance_token,
    )
    assert [(c["clause_id"], c["count"]) for c in counted.json()["counts"]] == [("2.2", 1)]


async def test_the_audit_trail_records_agents_actions_and_only_compliance_reads_it(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    conversation_id = await closed_conversation(server, agent_token, "1.1")
    r = await api(
        server, f"/api/compliance/audit?conversation_id={conversation_id}", compliance_token
    )
    entries = r.json()["items"]
    assert [e["action"] for e in entries] == ["assigned", "agent_joined", "replied", "closed"]
    assert {e["actor"]["name"] for e in entries} == {"Alice Agent"}
    assert entries[-1]["details"]["clause_id"] == "1.1"
    assert (await api(server, "/api/compliance/audit", agent_token)).status_code == 403
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0 and "VALID" in verified.stdout


async def test_admins_manage_tokens_and_a_revoked_token_is_refused_at_once(
    server: Server, admin_token: str, agent_token: str, compliance_token: str
) -> None:
    """Invariant 8: revocation takes effect immediately, also on an open socket."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        created = await http.post(
            "/api/admin/staff", json={"name": "Temp", "role": "agent"}, headers=headers
        )
        assert created.status_code == 200, created.text
        temp = created.json()
        for token in (agent_token, compliance_token):
            refused = await http.post(
                "/api/admin/staff", json={"name": "X", "role": "admin"},
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            assert refused.status_code == 403
        bad = await http.post(
            "/api/admin/staff", json={"name": "", "role": "boss"}, headers=headers
        )
        assert bad.status_code == 400
        async with agent(server, temp["token"]) as a:
            revoked = await http.post(
                f"/api/admin/staff/{temp['staff']['id']}/revoke", headers=headers
            )
            assert revoked.json()["staff"]["revoked_at"]
            error = await a.expect("error")
            assert error["code"] == "unauthorized"
            with pytest.raises(ConnectionClosed):
                await a.recv()
            assert a.ws.close_code == 1008
        again = await http.get(
            "/api/compliance/audit", headers={"Authorization": f"Bearer {temp['token']}"}
        )
        assert again.status_code == 401
        missing = await http.post("/api/admin/staff/s_nobody/revoke", headers=headers)
        assert missing.status_code == 404
        listed = (await http.get("/api/admin/staff", headers=headers)).json()["items"]
    assert next(s for s in listed if s["id"] == temp["staff"]["id"])["revoked_at"]
    audit = (await api(server, "/api/compliance/audit?limit=500", compliance_token)).json()["items"]
    actions = [(e["action"], e["staff_id"]) for e in audit]
    assert ("staff_added", temp["staff"]["id"]) in actions
    assert ("staff_revoked", temp["staff"]["id"]) in actions


async def test_the_cli_revokes_tokens_too(server: Server) -> None:
    token = server.add_staff("Short Lived", "agent")
    staff_id = next(
        line.split()[0] for line in server.cli("agents", "list").stdout.splitlines()
        if "Short Lived" in line
    )  # fmt: skip
    async with agent(server, token) as a:
        assert server.cli("agents", "revoke", staff_id).returncode == 0
        assert (await a.expect("error"))["code"] == "unauthorized"
    assert "revoked" in server.cli("agents", "list").stdout


async def test_a_future_version_takes_effect_by_itself_and_open_conversations_keep_theirs(
    make_server: Callable[..., Server], policies: Path
) -> None:
    """Policy lifecycle: v3 comes into force at its time, with nobody restarting anything;
    the visitor at the gate is offered it; a conversation accepted under v2 keeps v2.

    v3's time must still be ahead once the server is up and the first visitor has accepted
    v2; on a loaded 2-core machine start-up alone has taken more than 4 seconds."""
    soon = (datetime.now(UTC) + timedelta(seconds=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    v3 = (policies / "conduct-v2.toml").read_text(encoding="utf-8")
    v3 = v3.replace("version = 2", "version = 3").replace(
        'effective = "2026-09-01T00:00:00Z"', f'effective = "{soon}"'
    )
    (policies / "conduct-v3.toml").write_text(v3.replace("Do not insult", "Never insult"))
    s = make_server(policies).start()
    async with visitor(s) as early, visitor(s) as waiting:
        conversation_id = await early.accept()
        assert early.policy["version"] == 2
        assert (await waiting.expect("policy"))["version"] == 2
        offered = await waiting.expect("policy", timeout=40)
        assert offered["version"] == 3 and "Never insult" in offered["text"]
        assert (await waiting.accept_offer(offered)) != conversation_id
    token = s.add_staff("Alice Agent", "agent")
    compliance = s.add_staff("Carol", "compliance")
    async with agent(s, token) as a:
        await a.send({"type": "join", "conversation_id": conversation_id})
        joined = await a.expect("joined")
        assert joined["policy"]["version"] == 2
        await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "1.1"})
        await a.expect("done")
    bundle = (
        await api(s, f"/api/compliance/conversations/{conversation_id}/evidence", compliance)
    ).json()
    assert bundle["acceptance"]["version"] == 2
    assert bundle["closure"]["data"]["clause"]["text"].startswith("Do not insult")
    listed = s.cli("policy", "list").stdout
    assert "conduct v3" in listed and listed.strip().endswith("in force")


async def test_open_conversations_are_anchored_periodically(
    make_server: Callable[..., Server],
) -> None:
    s = make_server(PARLEY_ANCHOR_INTERVAL="0.3").start()
    async with visitor(s) as v:
        await v.accept()
        for _ in range(100):
            latest = (await api(s, "/api/keys")).json()["latest_checkpoint"]
            if latest is not None:
                break
            await asyncio.sleep(0.1)
    assert latest is not None and latest["checkpoint"]["tree_size"] >= 1
