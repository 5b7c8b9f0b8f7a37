"""Access requests (GDPR Art. 15) through the real server, on SQLite and on Redis.

A visitor with two conversations — a hostile message, an e-mail address left in
away mode, a warning, a resolution; then a closure with a bar — and another
visitor closed with a bar on the same address. The visitor's copy holds each of
their records exactly as the compliance API shows them, never the other
visitor's, never their resume token; making it is audited with who asked; bad
requests get a typed error and leave no audit entry.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from markupsafe import escape

from access_scene import CLIENT, HOSTILE, OTHER_TEXT, Scene, make_scene
from harness import RedisServer, Server, conversation_record
from parley.domain.agent import token_hash


@pytest.fixture(params=["sqlite", "redis"])
def scene(
    request: pytest.FixtureRequest, make_server: Callable[..., Server], redis_server: RedisServer
) -> Iterator[Scene]:
    env = {}
    if request.param == "redis":
        redis_server.flush()
        env = {"PARLEY_STORE": redis_server.url}
    yield make_scene(make_server(**env).start())


def export(s: Scene, visitor_id: str, token: str | None = None, **query: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or s.compliance}"} if token != "" else {}
    return httpx.get(
        f"{s.server.http}/api/compliance/visitors/{visitor_id}/export",
        params=query,
        headers=headers,
        timeout=30,
    )


def exports_audited(s: Scene) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = httpx.get(
            f"{s.server.http}/api/compliance/audit",
            params=query,
            headers={"Authorization": f"Bearer {s.compliance}"},
        ).json()
        entries += [e for e in page["items"] if e["action"] == "visitor_exported"]
        if (cursor := page["next_cursor"]) is None:
            return entries


def test_the_copy_holds_everything_stored_about_the_visitor_exactly(scene: Scene) -> None:
    s = scene
    answer = export(s, s.visitor_id)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="parley-access-{s.visitor_id}.json"'
    )
    copy = answer.json()
    assert copy["format"] == "parley-access/1"
    assert copy["visitor"]["id"] == s.visitor_id
    assert copy["visitor"]["created_at"] <= copy["conversations"][0]["acceptance"]["accepted_at"]
    assert copy["time_zone"] == "Europe/Paris"
    assert copy["generated_by"]["name"] == "Carol Compliance"

    # Each conversation exactly as the compliance record holds it: nothing lost or changed.
    assert [c["conversation"]["id"] for c in copy["conversations"]] == s.conversations
    for mine in copy["conversations"]:
        cid = mine["conversation"]["id"]
        record = asyncio.run(conversation_record(s.server, s.compliance, cid))
        assert mine["transcript"] == record["transcript"]
        assert mine["acceptance"] == record["acceptance"]
        assert mine["conversation"] == record["conversation"]
        assert mine["acceptance"]["ip"] == "127.0.0.1"
        assert mine["acceptance"]["page_url"] == CLIENT["page_url"]
        assert mine["acceptance"]["text"]  # the exact text accepted, in full
    first, second = copy["conversations"]
    assert HOSTILE in [e["data"].get("text") for e in first["transcript"]]
    assert first["contacts"] == [
        {"seq": 3, "at": first["transcript"][2]["at"], "email": "ada@example.com"}
    ]
    [warning] = first["warnings"]
    assert warning["clause"]["id"] == "1.1"
    assert warning["clause"]["text"] in first["acceptance"]["text"]
    assert warning["note"] == "Please keep it civil."
    assert warning["messages"] == [{"seq": 2, "text": HOSTILE}]
    assert first["closure"] is None and first["ending"]["type"] == "resolved"
    assert second["closure"]["clause"] == second["transcript"][-1]["data"]["clause"]
    assert {e["action"] for e in second["audit"]} >= {"closed"}

    # The bars: the one on them, and the one on their address, without the other visitor.
    mine, on_address = copy["bars"]
    assert mine["on_you"] and mine["visitor_id"] == s.visitor_id
    assert mine["conversation_id"] == s.conversations[1] and mine["network"] is None
    assert not on_address["on_you"] and on_address["your_addresses"] == ["127.0.0.1"]
    assert "visitor_id" not in on_address and "conversation_id" not in on_address

    # Nothing of the other visitor, nothing of the credential.
    text = answer.text
    for foreign in (s.other_visitor_id, s.other_conversation, OTHER_TEXT):
        assert foreign not in text
    assert s.token not in text and token_hash(s.token) not in text


def test_each_copy_is_audited_with_who_asked_for_it(scene: Scene) -> None:
    s = scene
    assert export(s, s.visitor_id, format="html").status_code == 200
    [entry] = exports_audited(s)
    assert entry["actor"]["name"] == "Carol Compliance"
    assert entry["actor"]["role"] == "compliance"
    assert entry["details"] == {"visitor_id": s.visitor_id, "format": "html", "conversations": 2}
    admin = s.server.add_staff("Dan Admin", "admin")
    assert export(s, s.visitor_id, admin).status_code == 200
    assert [e["actor"]["name"] for e in exports_audited(s)] == ["Carol Compliance", "Dan Admin"]


def test_the_page_escapes_hostile_text_and_shows_the_accepted_texts(scene: Scene) -> None:
    s = scene
    answer = export(s, s.visitor_id, format="html")
    assert answer.headers["content-type"].startswith("text/html")
    assert "attachment" in answer.headers["content-disposition"]
    page = answer.text
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page
    assert "ada@example.com" in page and "Please keep it civil." in page
    assert s.other_visitor_id not in page and OTHER_TEXT not in page
    copy = export(s, s.visitor_id).json()
    for c in copy["conversations"]:
        assert escape(c["acceptance"]["text"]) in page  # in full, exactly (as markupsafe escapes)
    assert "(" in page and "Europe/Paris)" in page  # times in the visitor's own zone too


def test_bad_requests_get_typed_errors_and_record_nothing(scene: Scene) -> None:
    s = scene
    unknown = export(s, "v_nobody_at_all")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "visitor_not_found"
    assert export(s, s.other_conversation).status_code == 404  # a conversation id is no visitor
    bad = export(s, s.visitor_id, format="pdf")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    assert export(s, s.visitor_id, limit="5").json()["error"]["code"] == "bad_request"
    assert export(s, s.visitor_id, s.agent).json()["error"]["code"] == "forbidden"
    assert export(s, s.visitor_id, "").json()["error"]["code"] == "unauthorized"
    assert export(s, s.visitor_id, "not-a-token").status_code == 401
    assert exports_audited(s) == []


def test_the_command_line_exports_the_same_copy_as_the_operator(scene: Scene) -> None:
    s = scene
    out = s.server.data_dir / "copy.json"
    done = s.server.cli("visitors", "export", s.visitor_id, "-o", str(out))
    assert done.returncode == 0, done.stderr
    by_cli = json.loads(out.read_text())
    by_http = export(s, s.visitor_id).json()
    for varying in ("generated_at", "generated_by", "audit_seq"):
        by_cli.pop(varying), by_http.pop(varying)
    assert by_cli == by_http
    page = s.server.cli("visitors", "export", s.visitor_id, "--format", "html")
    assert page.returncode == 0 and page.stdout.startswith("<!DOCTYPE html>")
    roles = [e["actor"]["role"] for e in exports_audited(s)]
    assert roles == ["operator", "compliance", "operator"]
    unknown = s.server.cli("visitors", "export", "v_nobody_at_all")
    assert unknown.returncode == 1 and "visitor_not_found" in unknown.stderr
    assert len(exports_audited(s)) == 3
