"""Canned replies through the real server: admins manage them, agents get them, all audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from harness import Server, agent

HOSTILE_BODIES: list[tuple[bytes, str]] = [
    (b"", "bad_json"),
    (b"not json", "bad_json"),
    (b"[]", "bad_json"),
    (b"\xff\xfe", "bad_json"),
    (b'{"shortcut": "hi", "text": NaN}', "bad_json"),
    (b'{"shortcut": "hi", "text": "\\ud800"}', "bad_json"),
    (b"[" * 1000 + b"]" * 1000, "bad_json"),
    (b'{"shortcut": "hi"}', "bad_request"),
    (b'{"text": "Hello"}', "bad_request"),
    (b'{"shortcut": "hi", "text": "Hello", "extra": 1}', "bad_request"),
    (b'{"shortcut": "Hi", "text": "Hello"}', "bad_request"),
    (b'{"shortcut": "/hi", "text": "Hello"}', "bad_request"),
    (b'{"shortcut": "", "text": "Hello"}', "bad_request"),
    (b'{"shortcut": "-hi", "text": "Hello"}', "bad_request"),
    (b'{"shortcut": "h i", "text": "Hello"}', "bad_request"),
    (b'{"shortcut": "' + b"a" * 33 + b'", "text": "Hello"}', "bad_request"),
    (b'{"shortcut": "hi", "text": ""}', "bad_request"),
    (b'{"shortcut": "hi", "text": "   "}', "bad_request"),
    (b'{"shortcut": "hi", "text": "' + b"x" * 2001 + b'"}', "bad_request"),
    (b'{"shortcut": 7, "text": "Hello"}', "bad_request"),
    (b'{"shortcut": "hi", "text": ["Hello"]}', "bad_request"),
    (b'{"shortcut": "hi", "text": "Hello", "shortcut": null}', "bad_request"),
]


@pytest.fixture
def canned_server(make_server: Callable[..., Server]) -> Server:
    return make_server().start()


def http(server: Server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.http, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )


async def test_admins_add_change_and_delete_canned_replies_and_consoles_hear_of_each(
    canned_server: Server,
) -> None:
    server = canned_server
    admin, token = server.add_staff("Dan Admin", "admin"), server.add_staff("Ann", "agent")
    async with http(server, admin) as h, agent(server, token) as a:
        hello = [f["type"] for f in a.seen]
        assert hello == ["welcome", "canned", "conversations"], "the list comes with hello"
        assert a.seen[1]["items"] == []
        added = await h.post("/api/admin/canned", json={"shortcut": "hello", "text": "Hello!"})
        assert added.status_code == 200, added.text
        reply = added.json()["reply"]
        assert reply["id"].startswith("k_") and reply["shortcut"] == "hello"
        assert [r["text"] for r in (await a.expect("canned"))["items"]] == ["Hello!"]
        await h.post("/api/admin/canned", json={"shortcut": "bye", "text": "Goodbye."})
        assert [r["shortcut"] for r in (await a.expect("canned"))["items"]] == ["bye", "hello"]
        changed = await h.put(
            f"/api/admin/canned/{reply['id']}", json={"shortcut": "hi", "text": "Hi there!"}
        )
        assert changed.status_code == 200 and changed.json()["reply"]["text"] == "Hi there!"
        items = (await a.expect("canned"))["items"]
        assert [(r["shortcut"], r["text"]) for r in items] == [("bye", "Goodbye."),
                                                               ("hi", "Hi there!")]  # fmt: skip
        deleted = await h.delete(f"/api/admin/canned/{reply['id']}")
        assert deleted.status_code == 200 and deleted.json()["reply"]["shortcut"] == "hi"
        assert [r["shortcut"] for r in (await a.expect("canned"))["items"]] == ["bye"]
        listed = (await h.get("/api/admin/canned")).json()["items"]
        assert [r["shortcut"] for r in listed] == ["bye"]
    async with http(server, token) as as_agent:
        mine = await as_agent.get("/api/canned")
        assert mine.status_code == 200 and [r["shortcut"] for r in mine.json()["items"]] == ["bye"]
        refused = await as_agent.post("/api/admin/canned", json={"shortcut": "x", "text": "x"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    async with http(server, server.add_staff("Carol", "compliance")) as as_compliance:
        assert (await as_compliance.get("/api/canned")).status_code == 403
        audit = (await as_compliance.get("/api/compliance/audit?limit=500")).json()["items"]
    actions = [e["action"] for e in audit if e["action"].startswith("canned_reply")]
    assert actions == ["canned_reply_added", "canned_reply_added", "canned_reply_changed",
                       "canned_reply_deleted"]  # fmt: skip
    last = next(e for e in audit if e["action"] == "canned_reply_changed")
    assert last["actor"]["name"] == "Dan Admin"
    assert last["details"] == {"id": reply["id"], "shortcut": "hi", "text": "Hi there!"}


async def test_a_taken_shortcut_or_unknown_id_gets_a_typed_error_and_changes_nothing(
    canned_server: Server,
) -> None:
    server = canned_server
    async with http(server, server.add_staff("Dan Admin", "admin")) as h:
        first = (await h.post("/api/admin/canned", json={"shortcut": "a", "text": "A"})).json()
        await h.post("/api/admin/canned", json={"shortcut": "b", "text": "B"})
        before = (await h.get("/api/admin/canned")).json()
        taken = await h.post("/api/admin/canned", json={"shortcut": "a", "text": "again"})
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "shortcut_taken"
        moved = await h.put(
            f"/api/admin/canned/{first['reply']['id']}", json={"shortcut": "b", "text": "A"}
        )
        assert moved.status_code == 409 and moved.json()["error"]["code"] == "shortcut_taken"
        for method in ("PUT", "DELETE"):
            gone = await h.request(
                method, "/api/admin/canned/k_nosuchreply", json={"shortcut": "c", "text": "C"}
            )
            assert gone.status_code == 404, gone.text
            assert gone.json()["error"]["code"] == "canned_reply_not_found"
        assert (await h.get("/api/admin/canned")).json() == before


@pytest.mark.parametrize(("body", "code"), HOSTILE_BODIES)
async def test_hostile_canned_reply_bodies_get_a_typed_400_and_store_nothing(
    server: Server, admin_token: str, body: bytes, code: str
) -> None:
    async with http(server, admin_token) as h:
        before = (await h.get("/api/admin/canned")).json()
        kept = before["items"][0]["id"] if before["items"] else "k_none"
        for method, path in (("POST", "/api/admin/canned"), ("PUT", f"/api/admin/canned/{kept}")):
            answer = await h.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 400, answer.text
            error: dict[str, Any] = answer.json()["error"]
            assert error["code"] == code, error
        assert (await h.get("/api/admin/canned")).json() == before
