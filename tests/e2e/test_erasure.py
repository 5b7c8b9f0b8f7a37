"""Transcript format 2 end to end: a real server writes it, erasure in its store keeps the
evidence valid, on SQLite and on Redis.

A real ``parley serve`` holds a conversation (acceptance, the visitor's messages, a
reply, a closure quoting a message); its bundle is exported over HTTP and verified.
Then personal fields are erased in the server's own store with the domain's
:func:`erase` and :meth:`Store.rewrite_event` — the server still running — and the
conversation exported again: still VALID under the published key, the erased fields
reported, gone from the bundle, shown as erased in the readable page and named in
the compliance listings (JSON and CSV); an erased value put back in the bundle is
refused.
"""

from __future__ import annotations

import base64
import copy
import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness import RedisServer, Server, api, closed_conversation, parley
from parley.domain.erasure import erase
from parley.evidence.verify import verify
from parley.store import open_store

SECRET = "my phone is 0612345678"
BASIS = "GDPR Art. 17, request 2027-004"


@pytest.fixture
def redis_db(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own: its Merkle log is this server's alone."""
    r = RedisServer(tmp_path / "redis").start()
    yield r
    r.stop()


@pytest.fixture(params=["sqlite", "redis"])
def deployment(
    request: pytest.FixtureRequest, make_server: Callable[..., Server], tmp_path: Path
) -> tuple[Server, str]:
    """A server of this test's own, and the URL of its store."""
    if request.param == "sqlite":
        s = make_server().start()
        return s, f"sqlite:{s.data_dir / 'parley.db'}"
    url = request.getfixturevalue("redis_db").url
    return make_server(PARLEY_STORE=url).start(), url


async def export(server: Server, conversation_id: str, token: str, html: bool = False) -> Any:
    query = "?format=html" if html else ""
    path = f"/api/compliance/conversations/{conversation_id}/evidence{query}"
    r = await api(server, path, token)
    assert r.status_code == 200, r.text
    return r.text if html else r.json()


async def test_erased_fields_keep_the_evidence_valid_and_are_reported(
    deployment: tuple[Server, str], tmp_path: Path
) -> None:
    server, url = deployment
    agent_token = server.add_staff("Alice Agent", "agent")
    compliance_token = server.add_staff("Carol Compliance", "compliance")
    conversation_id = await closed_conversation(server, agent_token, "1.2", said=(SECRET,))
    key = base64.b64decode((await api(server, "/api/keys")).json()["public_key"])

    before = await export(server, conversation_id, compliance_token)
    assert {e["format"] for e in before["transcript"]} == {2}, "a new conversation is format 2"
    assert set(before["transcript"][1]["salts"]) == {"text"}
    assert verify(before, key).ok

    store = await open_store(url)
    try:
        events = await store.events(conversation_id)
        at = datetime(2027, 1, 4, 9, 12, tzinfo=UTC)
        for event, fields in ((events[0], ["ip", "user_agent"]), (events[1], ["text"])):
            await store.rewrite_event(erase(event, fields, at=at, by="s_dpo", basis=BASIS))
    finally:
        await store.close()

    after = await export(server, conversation_id, compliance_token)
    report = verify(after, key)
    assert report.ok, report.failure
    assert [(f.seq, f.field, f.by, f.basis) for f in report.erased] == [
        (1, "ip", "s_dpo", BASIS), (1, "user_agent", "s_dpo", BASIS), (2, "text", "s_dpo", BASIS)
    ]  # fmt: skip
    assert [e["hash"] for e in after["transcript"]] == [e["hash"] for e in before["transcript"]]
    assert SECRET not in json.dumps(after, ensure_ascii=False)
    assert after["acceptance"]["ip"] is None and after["transcript"][1]["data"]["text"] is None
    assert after["transcript"][1]["erased"]["text"]["at"] == "2027-01-04T09:12:00.000Z"

    saved = tmp_path / "after.json"
    saved.write_text(json.dumps(after), encoding="utf-8")
    printed = parley(
        "evidence", "verify", str(saved), "--public-key", base64.b64encode(key).decode()
    )
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert f"erased: event 2 text, at 2027-01-04T09:12:00.000Z by s_dpo ({BASIS})" in printed.stdout

    page = await export(server, conversation_id, compliance_token, html=True)
    assert SECRET not in page
    assert page.count('class="erased"') == 3

    visitor_id = after["conversation"]["visitor_id"]
    listed = await api(server, f"/api/compliance/acceptances?visitor_id={visitor_id}",
                       compliance_token)  # fmt: skip
    (record,) = listed.json()["items"]
    assert (record["ip"], record["user_agent"], record["erased"]) == (
        None,
        None,
        ["ip", "user_agent"],
    )
    table = await api(server, f"/api/compliance/acceptances?visitor_id={visitor_id}&format=csv",
                      compliance_token)  # fmt: skip
    header, row = list(csv.reader(io.StringIO(table.text)))
    assert dict(zip(header, row, strict=True))["erased"] == "ip user_agent"
    closures = await api(server, f"/api/compliance/closures?visitor_id={visitor_id}",
                         compliance_token)  # fmt: skip
    assert closures.json()["items"][0]["erased"] == []

    put_back = copy.deepcopy(after)
    put_back["transcript"][1]["data"]["text"] = SECRET
    refused = verify(put_back, key)
    assert not refused.ok and "text is marked erased but still holds a value" in refused.failure
    saved.write_text(json.dumps(put_back), encoding="utf-8")
    printed = parley(
        "evidence", "verify", str(saved), "--public-key", base64.b64encode(key).decode()
    )
    assert printed.returncode == 1 and "FAIL" in printed.stdout
