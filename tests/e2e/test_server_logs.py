"""The server's logs through a real ``parley serve``: JSON or text lines on stderr, the ids of
what each line concerns, request ids honoured and echoed, and no secret or text ever written."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from harness import Server, Visitor, agent, parley, visitor

GENERATED = re.compile(r"r_[A-Za-z0-9_-]{22}")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def json_lines(server: Server) -> list[dict[str, Any]]:
    """Every line the server wrote (its stdout and stderr), each parsed as JSON."""
    lines = []
    for line in server.log.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a line that is not JSON: {line!r}")
    return lines


def having(lines: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return [line for line in lines if all(line.get(k) == v for k, v in fields.items())]


async def test_json_logs_at_debug_carry_the_ids_and_never_a_secret_or_a_text(
    make_server: Callable[..., Server],
) -> None:
    """Logs: with JSON at debug, a whole conversation — a visitor's message, its resume, an
    agent's reply and closure, staff tokens over HTTP, a 400 and a fault — leaves only JSON
    lines; the closure's line names the conversation and the agent, the fault's its error id
    and request id with the traceback; no line holds a message text, a token or a resume
    token."""
    s = make_server(PARLEY_LOG_FORMAT="json", PARLEY_LOG_LEVEL="debug").start()
    agent_token, compliance_token = s.add_staff("Ann", "agent"), s.add_staff("Cy", "compliance")
    said, replied, noted = "marker-visitor-8d1f", "marker-agent-5c2e", "marker-note-77aa"
    junk = "c_marker-junk-in-an-id-field"
    async with visitor(s) as v, agent(s, agent_token) as a:
        conversation_id = await v.accept()
        await v.say(f"hello {said}", "m1")
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        await a.send({"type": "reply", "conversation_id": conversation_id, "client_id": "r1",
                      "text": f"hi {replied}"})  # fmt: skip
        await a.expect("ack")
        await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "4.1",
                      "note": noted})  # fmt: skip
        await a.expect("done")
        staff_id = next(f["agent"]["id"] for f in a.seen if f["type"] == "welcome")
    async with connect(f"{s.ws}/ws/visitor", additional_headers={"X-Request-Id": "lb-1"}) as ws:
        resumed = Visitor(ws)
        await resumed.hello(token=v.token)
        await resumed.barrier()  # the hello handled to its end, and logged
        assert ws.response is not None and ws.response.headers["X-Request-Id"] == "lb-1"
    async with agent(s, agent_token) as a:
        await a.send({"type": "join", "conversation_id": junk})
        assert (await a.expect("error"))["code"] == "not_found"
    wrong_token = "W" * 43
    async with connect(f"{s.ws}/ws/agent") as ws:
        await ws.send(json.dumps({"type": "hello", "token": wrong_token}))
        assert json.loads(await ws.recv())["code"] == "unauthorized"
    with pytest.raises(InvalidStatus):
        await connect(f"{s.ws}/ws/visitor", origin=Origin("http://elsewhere.example"))
    auth = {"Authorization": f"Bearer {compliance_token}"}
    async with httpx.AsyncClient(base_url=s.http, headers=auth) as http:
        record = await http.get(f"/api/compliance/conversations/{conversation_id}")
        assert record.status_code == 200, record.text
        bad = await http.get("/api/compliance/audit?limit=0", headers={"X-Request-Id": "req.42"})
        assert bad.status_code == 400 and bad.headers["X-Request-Id"] == "req.42"
        with contextlib.closing(sqlite3.connect(s.data_dir / "parley.db")) as db, db:
            db.execute("UPDATE events SET body = '{' WHERE conversation_id = ?", (conversation_id,))
        fault = await http.get(f"/api/compliance/conversations/{conversation_id}")
        assert fault.status_code == 500
    s.stop()

    lines = await asyncio.to_thread(json_lines, s)
    assert all(TIME.fullmatch(line["time"]) and line["logger"] and "message" in line
               for line in lines)  # fmt: skip
    assert {"debug", "info", "error"} <= {line["level"] for line in lines}
    (closed,) = having(lines, frame="close")
    assert (closed["conversation_id"], closed["staff_id"]) == (conversation_id, staff_id)
    assert closed["connection_id"].startswith("w_")
    (accepted,) = having(lines, frame="accept")
    assert (accepted["conversation_id"], accepted["visitor_id"]) == (conversation_id, v.visitor_id)
    assert having(lines, frame="message", level="debug", visitor_id=v.visitor_id)
    (hello,) = having(lines, frame="hello", connection_id="lb-1")
    assert hello["visitor_id"] == v.visitor_id, "the upgrade's X-Request-Id names the connection"
    (bad_line,) = having(lines, logger="parley.access", request_id="req.42")
    assert (bad_line["status"], bad_line["path"]) == (400, "/api/compliance/audit")
    assert isinstance(bad_line["duration_ms"], float)
    (faulted,) = having(lines, error_id=fault.json()["error"]["error_id"])
    assert faulted["request_id"] == fault.headers["X-Request-Id"]
    assert GENERATED.fullmatch(faulted["request_id"]), "generated when none came"
    assert faulted["staff_id"] and "Traceback (most recent call last)" in faulted["traceback"]
    assert having(lines, logger="parley.access", request_id=faulted["request_id"], status=500)
    assert having(lines, message="websocket /ws/visitor refused", close_code=None)
    assert having(lines, message="GET /healthz 200", level="debug"), "load balancers poll it"
    written = s.log.read_text()
    for secret in (said, replied, noted, junk, agent_token, compliance_token, v.token, wrong_token):
        assert secret not in written, f"{secret[:12]}... was logged"


async def test_text_logs_at_info_are_readable_and_leave_out_debug_lines(
    make_server: Callable[..., Server],
) -> None:
    """Logs: PARLEY_LOG_FORMAT=text writes readable lines (the banner printed as before);
    at the default level, info lines (an accept) are there and debug lines (a message) not."""
    s = make_server(PARLEY_LOG_FORMAT="text").start()
    async with visitor(s) as v:
        await v.accept()
        await v.say("hello", "m1")
    r = await asyncio.to_thread(
        httpx.get, f"{s.http}/api/policy", headers={"X-Request-Id": "x" * 129}
    )
    s.stop()
    request_id = r.headers["X-Request-Id"]
    assert GENERATED.fullmatch(request_id), "an id over 128 characters is replaced"
    written = s.log.read_text()
    assert "serving policy conduct v2" in written and not re.search(r"^\{", written, re.M)
    assert re.search(
        rf"^{TIME.pattern} info    parley\.access: GET /api/policy 200  request_id={request_id}"
        r"  method=GET  path=/api/policy  status=200  duration_ms=[0-9.]+$",
        written,
        re.MULTILINE,
    ), written
    accept = (
        rf"parley\.web: visitor accept  connection_id=w_\S+  conversation_id=c_\S+"
        rf"  visitor_id={v.visitor_id}  frame=accept$"
    )
    assert re.search(accept, written, re.MULTILINE), written
    assert "visitor message" not in written and " debug " not in written
    assert "/healthz" not in written, "the start-up polls of /healthz are debug lines"


@pytest.mark.parametrize("sent", ["has space", "semi;colon", "é", ""])
async def test_a_request_id_that_is_not_a_sane_token_is_replaced(server: Server, sent: str) -> None:
    """Logs: an X-Request-Id with characters outside A-Z a-z 0-9 . _ - (or empty) is not
    trusted: the request gets an id of its own, echoed."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get("/api/policy", headers={"X-Request-Id": sent.encode()})
    assert GENERATED.fullmatch(r.headers["X-Request-Id"]), r.headers["X-Request-Id"]
    exact = await asyncio.to_thread(httpx.get, f"{server.http}/api/policy",
                                    headers={"X-Request-Id": "a" * 128})  # fmt: skip
    assert exact.headers["X-Request-Id"] == "a" * 128


@pytest.mark.parametrize(
    "setting, value, said",
    [
        ("PARLEY_LOG_FORMAT", "xml", "PARLEY_LOG_FORMAT='xml': must be auto, json or text"),
        ("PARLEY_LOG_LEVEL", "trace", "PARLEY_LOG_LEVEL='trace': must be debug, info, warning"),
    ],
)
def test_a_bad_log_setting_stops_the_server_at_start(setting: str, value: str, said: str) -> None:
    """Config: a bad PARLEY_LOG_FORMAT or PARLEY_LOG_LEVEL is refused before serving, naming
    it; so is a bad --log-format or --log-level flag."""
    refused = parley("serve", "--port", "1", env={setting: value})
    assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    flag = "--" + setting.removeprefix("PARLEY_").lower().replace("_", "-")
    refused = parley("serve", "--port", "1", flag, value)
    assert refused.returncode == 2 and f"argument {flag}: invalid choice" in refused.stderr
