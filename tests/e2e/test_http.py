"""The HTTP API through the real server: every answer to bad input is a typed JSON error
that changes nothing, and a fault of the server is a JSON 500 whose id is in the log."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from harness import Server, api, visitor

PAGE = "must be between 1 and 500"
VERSION = "must be between 1 and 9007199254740991"
RFC3339 = "is not an RFC 3339 time, e.g. 2026-11-01T00:00:00Z"
OUT_OF_RANGE = "is not a real time in the years 1 to 9999 (UTC)"
NOT_RETURNED = "is not one this listing returned"

#: Query and path values no endpoint can use, and the exact message of their 400.
BAD_INPUT = [
    ("acceptances?cursor=99999999999999999999", f"cursor '99999999999999999999' {NOT_RETURNED}"),
    ("audit?cursor=99999999999999999999", f"cursor '99999999999999999999' {NOT_RETURNED}"),
    ("acceptances?cursor=5", f"cursor '5' {NOT_RETURNED}"),
    ("closures?cursor=%C2%B2", f"cursor '²' {NOT_RETURNED}"),
    ("audit?cursor=", f"cursor '' {NOT_RETURNED}"),
    ("acceptances?version=99999999999999999999", f"version {VERSION}"),
    ("closures?version=0", f"version {VERSION}"),
    ("policies/conduct/versions/99999999999999999999/conversations", f"version {VERSION}"),
    ("policies/conduct/versions/two/conversations", "version 'two' is not a whole number"),
    ("policies/conduct/versions/-1/conversations", "version '-1' is not a whole number"),
    ("acceptances?limit=%C2%B2", "limit '²' is not a whole number"),
    ("acceptances?limit=0", f"limit {PAGE}"),
    ("audit?limit=" + "9" * 5000, f"limit {PAGE}"),
    ("acceptances?since=yesterday", f"since 'yesterday' {RFC3339}"),
    ("acceptances?since=2026-11-01", f"since '2026-11-01' {RFC3339}"),
    (
        "closures?until=2026-11-01T00:00:00",
        "until '2026-11-01T00:00:00' needs a time zone, e.g. 2026-11-01T00:00:00Z",
    ),
    ("acceptances?since=9999-12-31T23:59:59-23:59", f"since '9999-12-31T23:59:59-23:59' "
     f"{OUT_OF_RANGE}"),
    ("closures?until=0001-01-01T00:00:00%2B01:00", f"until '0001-01-01T00:00:00+01:00' "
     f"{OUT_OF_RANGE}"),
    ("closures?since=2026-02-30T00:00:00Z", f"since '2026-02-30T00:00:00Z' {OUT_OF_RANGE}"),
    ("closures?version=1&version=2", "version is given more than once"),
    (
        "acceptances?clause=1.2",
        "unknown parameter 'clause'; this endpoint takes visitor_id, policy_id, version, since, "
        "until, limit, cursor, format",
    ),
    ("audit?visitor_id=v_x", "unknown parameter 'visitor_id'; this endpoint takes "
     "conversation_id, limit, cursor"),
    ("acceptances?visitor_id=" + "v" * 257, "visitor_id must be 1 to 256 characters long"),
    ("closures?clause_id=", "clause_id must be 1 to 256 characters long"),
    ("closures?format=xlsx", "format must be one of json, csv"),
]  # fmt: skip


@pytest.mark.parametrize(("query", "message"), BAD_INPUT, ids=[q[:60] for q, _ in BAD_INPUT])
async def test_bad_query_and_path_values_get_a_typed_400(
    server: Server, compliance_token: str, query: str, message: str
) -> None:
    """Numbers beyond 64 bits, Unicode digits, times outside the calendar, cursors never
    issued: a JSON 400 ``bad_request`` naming the parameter, never a 500."""
    r = await api(server, f"/api/compliance/{query}", compliance_token)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"error": {"code": "bad_request", "message": message}}


async def test_a_refused_evidence_request_records_no_export(
    server: Server, compliance_token: str
) -> None:
    """Bad input changes nothing: an export refused for its parameters is not audited."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
    evidence = f"/api/compliance/conversations/{conversation_id}/evidence"
    for query in ("?format=docx", "?format=json&download=1", "?format=json&format=html"):
        r = await api(server, evidence + query, compliance_token)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", query
    audit = await api(
        server, f"/api/compliance/audit?conversation_id={conversation_id}", compliance_token
    )
    assert audit.json()["items"] == []


async def test_a_cursor_is_accepted_only_by_the_listing_and_filters_that_returned_it(
    make_server: Callable[..., Server], server: Server, compliance_token: str
) -> None:
    """The documented rule: pass back ``next_cursor`` unchanged; any other cursor is a 400."""
    s = make_server().start()
    token = s.add_staff("Carol", "compliance")
    ids = []
    for _ in range(3):
        async with visitor(s) as v:
            ids.append(await v.accept())
    listing = "/api/compliance/acceptances?policy_id=conduct&limit=1"
    pages, cursor = [], ""
    while True:
        page = (await api(s, listing + cursor, token)).json()
        pages.append(page)
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert [p["items"][0]["conversation_id"] for p in pages] == ids
    first = pages[0]["next_cursor"]

    sheet = await api(s, listing + "&format=csv", token)
    assert sheet.headers["x-next-cursor"] == first, "CSV pages carry the same cursor"
    last = await api(s, f"{listing}&format=csv&cursor={pages[1]['next_cursor']}", token)
    assert "x-next-cursor" not in last.headers, "no header on the last page"
    wider = await api(
        s, f"/api/compliance/acceptances?limit=5&policy_id=conduct&cursor={first}", token
    )
    assert [a["conversation_id"] for a in wider.json()["items"]] == ids[1:], "any limit"

    position, tag = first.split(".")
    other_tag = tag[:-1] + ("A" if tag[-1] != "A" else "B")
    elsewhere = [
        (s, f"/api/compliance/acceptances?policy_id=conduct&version=2&cursor={first}", token),
        (s, f"/api/compliance/acceptances?cursor={first}", token),
        (s, f"/api/compliance/policies/conduct/versions/2/conversations?cursor={first}", token),
        (s, f"/api/compliance/audit?cursor={first}", token),
        (s, f"{listing}&cursor={int(position) + 1}.{tag}", token),
        (s, f"{listing}&cursor={position}.{other_tag}", token),
        (s, f"{listing}&cursor={position}", token),
        (server, f"{listing}&cursor={first}", compliance_token),  # another deployment's key
    ]  # fmt: skip
    for where, path, with_token in elsewhere:
        refused = await api(where, path, with_token)
        assert refused.status_code == 400, path
        assert refused.json()["error"]["message"].endswith(NOT_RETURNED), path

    s.stop()
    s.start()
    again = await api(s, f"{listing}&cursor={first}", token)
    assert again.json() == pages[1], "the signing key, not the process, issues cursors"


async def test_an_unexpected_fault_is_a_json_500_with_an_error_id_in_the_log(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    """A corrupted record, asked for as a record and as evidence: the client gets a fixed
    message and an id, never a traceback or plain text; the log has the traceback under that id."""
    s = make_server().start()
    token = s.add_staff("Carol", "compliance")
    async with visitor(s) as v:
        conversation_id = await v.accept()
    with contextlib.closing(sqlite3.connect(s.data_dir / "parley.db")) as db, db:
        db.execute("UPDATE events SET body = '{' WHERE conversation_id = ?", (conversation_id,))
    seen = set()
    for path, with_token in (
        (f"/api/compliance/conversations/{conversation_id}", token),
        (f"/api/compliance/conversations/{conversation_id}/evidence", token),
    ):
        r = await api(s, path, with_token)
        assert r.status_code == 500, r.text
        assert r.headers["content-type"] == "application/json"
        error = r.json()["error"]
        assert error == {
            "code": "internal",
            "message": "the server failed to answer this request; quote the error_id to report it",
            "error_id": error["error_id"],
        }
        assert re.fullmatch(r"e_[A-Za-z0-9_-]{22}", error["error_id"])
        seen.add(error["error_id"])
        logged = s.log.read_text()
        assert f"error_id {error['error_id']}: unexpected error answering GET {path}" in logged
    assert len(seen) == 2, "each fault has its own id"
    assert logged.count("Traceback (most recent call last)") >= 2, "with the traceback"
    assert "Exception in ASGI application" not in logged, "logged once, under its id"


async def test_admin_bodies_are_parsed_as_strictly_as_frames_and_bad_ones_change_nothing(
    server: Server, admin_token: str
) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=server.http, headers=headers) as http:
        before = (await http.get("/api/admin/staff")).json()
        for body in (
            b'{"name": "\\ud800", "role": "agent"}',  # a lone surrogate: not UTF-8 text
            b'{"name": "Eve", "role": "agent", "bar": NaN}',
            b"\xff\xfe",
            b'{"name": "Eve", "role": "agent", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}",
            b'{"name": "Eve", "role": "agent", "x": 9223372036854775808}',
        ):
            r = await http.post("/api/admin/staff", content=body)
            assert r.status_code == 400, r.text
            assert r.json()["error"]["code"] == "bad_json"
        assert (await http.get("/api/admin/staff")).json() == before


def test_unknown_paths_and_methods_answer_json_errors(server: Server) -> None:
    missing = httpx.get(f"{server.http}/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{server.http}/ws/visitor").status_code == 404, "HTTP GET, no upgrade"
    for method, path, allowed in (
        ("POST", "/api/policy", "GET, HEAD"),
        ("DELETE", "/api/compliance/audit", "GET, HEAD"),
        ("PUT", "/api/admin/staff", "GET, POST, HEAD"),
        ("GET", "/api/admin/staff/s_x/revoke", "POST"),
    ):
        wrong_method = httpx.request(method, f"{server.http}{path}")
        assert wrong_method.status_code == 405, path
        assert set(wrong_method.headers["allow"].split(", ")) == set(allowed.split(", ")), path
        assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    head = httpx.head(f"{server.http}/api/policy")
    assert head.status_code == 200 and head.content == b""


def test_policy_in_force_is_public(server: Server) -> None:
    body = httpx.get(f"{server.http}/api/policy").json()
    assert (body["policy_id"], body["version"]) == ("conduct", 2)
    assert len(body["sha256"]) == 64 and body["text"].startswith(body["title"])


async def test_websockets_only_open_on_the_two_endpoints(server: Server) -> None:
    """The visitor and agent paths accept WebSockets; any other path refuses the upgrade."""
    for path in ("/ws/visitor", "/ws/agent"):
        async with connect(f"{server.ws}{path}") as ws:
            await ws.send('{"type":"ping"}')
            assert json.loads(await ws.recv()) == {"type": "pong"}
    for path in ("/ws/visitors", "/ws", "/api/policy", "/ws/visitor/"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{server.ws}{path}"):
                pass
        assert refused.value.response.status_code == 403, path
