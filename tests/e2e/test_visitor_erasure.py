"""Erasure on request through the real server, on SQLite and on Redis.

A visitor has three conversations — resolved (a message, an e-mail address left), one
under a legal hold, closed with a bar on their address (lifted, with a reason) — and
another visitor has one. ``POST /api/admin/visitors/{id}/erase`` erases the first
visitor's personal data: every bundle still VALID with the fields reported erased and an
``erased`` record after the ending, the held conversation untouched, the other visitor's
words kept, the bar kept without its reason or address, audited; the signed certificate
checks offline (``parley visitors verify-certificate``) against the bundles, and a forged
one does not. (The staff's reason for lifting the bar stays in the audit trail, which is
hash-chained like the transcripts but holds no commitments.) The erased words are gone
from the store's files: SQLite's database and WAL bytes; Redis's values (every key,
dumped) and its AOF once rewritten.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from harness import RedisServer, Server, agent, api, parley, visitor
from parley.evidence.verify import verify

SECRET = "my passport number is ZX-40417-MARKER"
EMAIL = "ada.lovelace.marker@example.com"
HELD_TEXT = "words under a legal hold HELD-MARKER"
OTHER_TEXT = "another visitor's own words OTHER-MARKER"
LIFT_REASON = "appeal granted LIFT-MARKER"
BASIS = "GDPR Art. 17, request 2027-004"


@pytest.fixture(params=["sqlite", "redis"])
def deployment(
    request: pytest.FixtureRequest, make_server: Callable[..., Server], tmp_path: Path
) -> Iterator[tuple[Server, RedisServer | None]]:
    """A server of this test's own, and its Redis (``None`` on SQLite)."""
    if request.param == "sqlite":
        yield make_server().start(), None
        return
    r = RedisServer(tmp_path / "redis").start()
    with redis.Redis(port=r.port) as client:
        # Values stored as written, so that looking for a word in the bytes finds it.
        client.config_set("rdbcompression", "no")
    try:
        yield make_server(PARLEY_STORE=r.url).start(), r
    finally:
        r.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def done(a: Any, frame: dict[str, Any]) -> None:
    await a.send(frame)
    await a.expect("done")


async def scene(s: Server, agent_token: str, admin: str) -> tuple[str, list[str], str]:
    """The visitor, their conversations (resolved, to be held, closed with a bar), and the
    other visitor's conversation."""
    # The other visitor first: the bar at the end is on the address both come from.
    async with visitor(s) as w, agent(s, agent_token) as a:
        other = await w.accept()
        await w.say(OTHER_TEXT, "o1")
        await done(a, {"type": "claim", "conversation_id": other})
        await done(a, {"type": "resolve", "conversation_id": other})
    async with visitor(s) as v, agent(s, agent_token) as a:
        resolved = await v.accept()
        await v.say(SECRET, "m1")
        await v.send({"type": "contact", "client_id": "k1", "email": EMAIL})
        await v.expect("ack")
        await done(a, {"type": "claim", "conversation_id": resolved})
        await done(a, {"type": "resolve", "conversation_id": resolved})
        held = await v.accept()
        await v.say(HELD_TEXT, "m2")
        await done(a, {"type": "claim", "conversation_id": held})
        await done(a, {"type": "resolve", "conversation_id": held})
        closed = await v.accept()
        await v.say(SECRET + " again", "m3")
        await done(a, {"type": "claim", "conversation_id": closed})
        await done(
            a,
            {"type": "close", "conversation_id": closed, "clause_id": "1.1",
             "message_seqs": [2], "bar": {"hours": 1, "ip": True}},
        )  # fmt: skip
    async with httpx.AsyncClient(base_url=s.http, headers=bearer(admin)) as http:
        placed = await http.post(
            "/api/compliance/holds",
            json={"scope": "conversation", "target_id": held, "reason": "litigation 2027-12"},
        )
        assert placed.status_code == 200, placed.text
        (bar,) = (await http.get("/api/admin/bans")).json()["items"]
        lifted = await http.post(f"/api/admin/bans/{bar['id']}/lift", json={"reason": LIFT_REASON})
        assert lifted.status_code == 200, lifted.text
    return v.visitor_id, [resolved, held, closed], other


async def bundle(s: Server, token: str, conversation_id: str) -> dict[str, Any]:
    r = await api(s, f"/api/compliance/conversations/{conversation_id}/evidence", token)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def stored_bytes(s: Server, r: RedisServer | None) -> bytes:
    """Every byte the store keeps: SQLite's database and WAL files; Redis's values (every
    key, dumped) and its persistence files."""
    if r is None:
        return b"".join(p.read_bytes() for p in s.data_dir.glob("parley.db*"))
    with redis.Redis(port=r.port) as client:
        dumped = b"".join(client.dump(k) or b"" for k in client.scan_iter(count=1000))
    files = [p for p in r.folder.rglob("*") if p.is_file() and p.name != "redis.log"]
    return dumped + b"".join(p.read_bytes() for p in files)


def aof_rewritten(r: RedisServer) -> None:
    """Wait until the AOF rewrite the erasure asked for has finished (a protocol barrier:
    Redis reports it in INFO persistence)."""
    with redis.Redis(port=r.port) as client:
        for _ in range(600):
            info = client.info("persistence")
            if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
                return
            client.execute_command("WAIT", 0, 50)
    raise AssertionError("the AOF rewrite never finished")


async def test_a_visitor_is_erased_everywhere_a_hold_allows_with_a_signed_certificate(
    deployment: tuple[Server, RedisServer | None], tmp_path: Path
) -> None:
    s, r = deployment
    admin, compliance = s.add_staff("Dana Admin", "admin"), s.add_staff("Carol", "compliance")
    visitor_id, (resolved, held, closed), other = await scene(
        s, s.add_staff("Alice Agent", "agent"), admin
    )
    key_b64 = (await api(s, "/api/keys")).json()["public_key"]
    key = base64.b64decode(key_b64)
    before = {cid: await bundle(s, compliance, cid) for cid in (resolved, held, closed)}
    for marker in (SECRET.encode(), EMAIL.encode()):
        assert marker in stored_bytes(s, r), "the store's files held the words before"

    async with httpx.AsyncClient(base_url=s.http, headers=bearer(admin), timeout=60) as http:
        answer = await http.post(f"/api/admin/visitors/{visitor_id}/erase", json={"basis": BASIS})
    assert answer.status_code == 200, answer.text
    signed = answer.json()
    body = signed["certificate"]
    assert (body["visitor_id"], body["basis"], body["erased_by"]["name"]) == (
        visitor_id, BASIS, "Dana Admin"
    )  # fmt: skip
    assert [c["conversation_id"] for c in body["conversations"]] == [resolved, closed]
    assert body["held"] == [{"conversation_id": held, "holds": [body["held"][0]["holds"][0]]}]
    assert len(body["bars"]) == 1

    for cid in (resolved, closed):
        after = await bundle(s, compliance, cid)
        report = verify(after, key)
        assert report.ok, report.failure
        assert after["transcript"][-1]["type"] == "erased"
        assert after["conversation"]["state"] == before[cid]["conversation"]["state"]
        hashes = [e["hash"] for e in after["transcript"][:-1]]
        assert hashes == [e["hash"] for e in before[cid]["transcript"]]
        assert {(f.seq, f.field) for f in report.erased} >= {(1, "ip"), (2, "text")}
        text = json.dumps(after, ensure_ascii=False)
        assert SECRET not in text and EMAIL not in text
        assert after["conversation"]["last_message"] is None
    (certified,) = [c for c in body["conversations"] if c["conversation_id"] == closed]
    assert certified["records"] == [len(before[closed]["transcript"]) + 1]
    kept = await bundle(s, compliance, held)
    assert (kept["transcript"], kept["conversation"]) == (
        before[held]["transcript"], before[held]["conversation"]
    ), "a held conversation is untouched"  # fmt: skip
    assert OTHER_TEXT in json.dumps(await bundle(s, compliance, other), ensure_ascii=False)

    async with httpx.AsyncClient(base_url=s.http, headers=bearer(admin)) as http:
        (bar,) = (await http.get("/api/admin/bans?all=true")).json()["items"]
        audit = (await http.get("/api/compliance/audit?limit=500")).json()["items"]
    assert (bar["visitor_id"], bar["lift_reason"], bar["network"]) == (visitor_id, None, None)
    assert bar["lifted_at"] is not None, "the bar itself is kept"
    actions = [(e["action"], e["conversation_id"]) for e in audit]
    assert actions.count(("erased", resolved)) == actions.count(("erased", closed)) == 1
    assert ("erased", held) not in actions
    # The staff's own account of lifting it stays in the hash-chained audit trail.
    (lift,) = [e for e in audit if e["action"] == "ban_lifted"]
    assert lift["details"]["reason"] == LIFT_REASON
    (request,) = [e for e in audit if e["action"] == "visitor_erased"]
    assert request["seq"] == body["audit_seq"] and request["details"]["held"] == 1

    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(signed), encoding="utf-8")
    saved = tmp_path / "closed.json"
    saved.write_text(json.dumps(await bundle(s, compliance, closed)), encoding="utf-8")
    checked = parley(
        "visitors", "verify-certificate", str(path), "--public-key", key_b64, "--bundle", str(saved)
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"the bundle of {closed} holds the erasure" in checked.stdout
    saved.write_text(json.dumps(before[closed]), encoding="utf-8")
    unerased = parley(
        "visitors", "verify-certificate", str(path), "--public-key", key_b64, "--bundle", str(saved)
    )
    assert unerased.returncode == 1 and "CONTRADICTED" in unerased.stdout
    signed["certificate"]["held"] = []
    path.write_text(json.dumps(signed), encoding="utf-8")
    forged = parley("visitors", "verify-certificate", str(path), "--public-key", key_b64)
    assert forged.returncode == 1 and "signature: not a valid" in forged.stdout

    if r is not None:
        aof_rewritten(r)
    stored = stored_bytes(s, r)
    for marker in (SECRET, EMAIL):
        assert marker.encode() not in stored, f"{marker!r} is still in the store's files"
    assert HELD_TEXT.encode() in stored and OTHER_TEXT.encode() in stored


async def test_erasing_again_records_nothing_twice(
    deployment: tuple[Server, RedisServer | None],
) -> None:
    s, _ = deployment
    admin = s.add_staff("Dana Admin", "admin")
    visitor_id, (resolved, _, closed), _ = await scene(s, s.add_staff("Alice", "agent"), admin)
    async with httpx.AsyncClient(base_url=s.http, headers=bearer(admin), timeout=60) as http:
        path = f"/api/admin/visitors/{visitor_id}/erase"
        first = (await http.post(path, json={"basis": BASIS})).json()["certificate"]
        again = (await http.post(path, json={"basis": "asked twice"})).json()["certificate"]
        audit = (await http.get("/api/compliance/audit?limit=500")).json()["items"]
    assert first["conversations"] == again["conversations"], "the same erasure, certified again"
    erased = [e["conversation_id"] for e in audit if e["action"] == "erased"]
    assert sorted(erased) == sorted([resolved, closed])
    assert [e["action"] for e in audit].count("visitor_erased") == 2


async def test_an_erased_closure_is_still_listed_and_counted(
    deployment: tuple[Server, RedisServer | None],
) -> None:
    """The erasure record follows the ending: compliance listings still find the closure."""
    s, _ = deployment
    admin = s.add_staff("Dana Admin", "admin")
    visitor_id, (_, _, closed), _ = await scene(s, s.add_staff("Alice", "agent"), admin)
    async with httpx.AsyncClient(base_url=s.http, headers=bearer(admin), timeout=60) as http:
        before = (await http.get("/api/compliance/closures")).json()
        assert (await http.post(f"/api/admin/visitors/{visitor_id}/erase",
                                json={"basis": BASIS})).status_code == 200  # fmt: skip
        after = (await http.get("/api/compliance/closures")).json()
    assert after["counts"] == before["counts"]
    [listed] = [c for c in after["items"] if c["conversation_id"] == closed]
    assert listed["clause_id"] == next(
        c["clause_id"] for c in before["items"] if c["conversation_id"] == closed
    )


async def test_bad_requests_are_typed_and_change_nothing(server: Server) -> None:
    admin = server.add_staff("Dana Admin", "admin")
    agent_token = server.add_staff("Alice Agent", "agent")
    async with visitor(server) as v:
        await v.accept()
        await v.say(SECRET, "m1")
    path = f"/api/admin/visitors/{v.visitor_id}/erase"
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        audit_before = (await http.get("/api/compliance/audit?limit=500",
                                       headers=bearer(admin))).json()["items"]  # fmt: skip
        cases = [
            (path, bearer(agent_token), {"basis": BASIS}, 403, "forbidden"),
            (path, {}, {"basis": BASIS}, 401, "unauthorized"),
            (path, bearer(admin), {"basis": "  "}, 422, "invalid_erasure_basis"),
            (path, bearer(admin), {"basis": "x" * 501}, 422, "invalid_erasure_basis"),
            (path, bearer(admin), {}, 400, "bad_request"),
            ("/api/admin/visitors/v_nobody/erase", bearer(admin), {"basis": BASIS}, 404,
             "visitor_not_found"),
        ]  # fmt: skip
        for url, headers, payload, status, code in cases:
            answer = await http.post(url, headers=headers, json=payload)
            assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), (
                code, answer.text
            )  # fmt: skip
        audit_after = (await http.get("/api/compliance/audit?limit=500",
                                      headers=bearer(admin))).json()["items"]  # fmt: skip
    assert audit_after == audit_before


def test_the_cli_erases_and_prints_a_certificate_that_verifies(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    s = make_server().start()
    admin = s.add_staff("Dana Admin", "admin")
    visitor_id, (resolved, _, closed), _ = asyncio.run(scene(s, s.add_staff("A", "agent"), admin))
    key_b64 = httpx.get(f"{s.http}/api/keys").json()["public_key"]
    s.stop()
    blank = s.cli("visitors", "erase", visitor_id, "--basis", " ")
    assert blank.returncode == 1 and "invalid_erasure_basis" in blank.stderr
    out = tmp_path / "certificate.json"
    erased = s.cli("visitors", "erase", visitor_id, "--basis", BASIS, "--output", str(out))
    assert erased.returncode == 0, erased.stderr
    assert "in 2 conversations; 1 held (untouched); 1 bars" in erased.stderr
    signed = json.loads(out.read_text(encoding="utf-8"))
    assert signed["certificate"]["erased_by"]["id"] == "operator"
    checked = parley("visitors", "verify-certificate", str(out), "--public-key", key_b64)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"VALID: erasure of visitor {visitor_id}" in checked.stdout
    with sqlite3.connect(s.data_dir / "parley.db") as db:
        rows = db.execute("SELECT body FROM events WHERE conversation_id IN (?, ?)",
                          (resolved, closed)).fetchall()  # fmt: skip
    assert rows and not any(SECRET in row[0] for row in rows)
