"""Webhooks through the real server, to a real HTTP receiver on loopback: signed, retried
after failures and time-outs, delivered once a receiver that was down comes back, nothing
lost to ``kill -9``, one delivery per endpoint with two processes on Redis, and the admin
API refusing bad input."""

from __future__ import annotations

import asyncio
import collections
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from test_policy_lifecycle import write_v3

from harness import RedisServer, Server, closed_conversation, free_port, joined, two_processes

#: Small waits so retries come quickly; the receiver's slow answer outlasts the time-out.
FAST = {"PARLEY_WEBHOOK_RETRY_BASE": "0.2", "PARLEY_WEBHOOK_TIMEOUT": "0.5"}


class Receiver:
    """An HTTP server on loopback that takes webhooks, checks each signature, and answers as
    told: ``plan`` holds the next answers ("ok", "fail" = 500, "redirect" = 307 to itself,
    "slow" = no answer in time);
    once it is empty every request is answered 204."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.secret: str | None = None
        self.plan: collections.deque[str] = collections.deque()
        #: Every request: (answer given, headers, body, whether its signature verified).
        self.got: list[tuple[str, dict[str, str], dict[str, Any], bool]] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?via=test"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    answer = receiver.plan.popleft() if receiver.plan else "ok"
                    receiver.got.append(
                        (answer, headers, json.loads(body), receiver.verify(body, headers))
                    )
                if answer == "slow":
                    receiver.released.wait(30)
                self.send_response({"fail": 500, "redirect": 307}.get(answer, 204))
                if answer == "redirect":
                    self.send_header("Location", receiver.url)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            Webhook(self.secret or "whsec_").verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    def stop(self) -> None:
        self.released.set()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def of(self, kind: str, conversation_id: str | None = None) -> list[dict[str, str]]:
        """The headers of every request that carried a ``kind`` webhook (about the conversation)."""
        with self.lock:
            return [
                h for _, h, body, _ in self.got
                if body["type"] == kind
                and conversation_id in (None, body["data"].get("conversation_id"))
            ]  # fmt: skip


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def admin_http(server: Server, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.http, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )


async def register(server: Server, token: str, url: str, events: list[str]) -> dict[str, Any]:
    async with admin_http(server, token) as h:
        r = await h.post("/api/admin/webhooks", json={"url": url, "events": events})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def log_of(server: Server, token: str, webhook_id: str) -> list[dict[str, Any]]:
    async with admin_http(server, token) as h:
        r = await h.get(f"/api/admin/webhooks/{webhook_id}/deliveries", params={"limit": 500})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def until(done: Callable[[], Any], what: str) -> Any:
    """Poll until ``done`` returns something true (a barrier with a deadline, not a measure)."""
    for _ in range(1500):
        found = done()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError(f"never {what}")


async def test_a_closure_is_delivered_signed_and_a_failure_is_retried_with_the_same_id(
    make_server: Callable[..., Server], receiver: Receiver
) -> None:
    """Signature, retries, idempotency: the receiver verifies the signature; a 500, then a
    redirect (not followed), are tried again with the same webhook-id, and the delivery log
    shows every attempt."""
    server = make_server(**FAST).start()
    admin, agent_token = server.add_staff("Dan", "admin"), server.add_staff("Ann", "agent")
    receiver.start()
    receiver.plan.extend(["fail", "redirect"])
    made = await register(server, admin, receiver.url, ["conversation.closed"])
    receiver.secret = made["secret"]
    assert made["secret"].startswith("whsec_") and "secret" not in made["webhook"]
    conversation_id = await closed_conversation(server, agent_token, "1.2")
    tries = await until(lambda: len(receiver.of("conversation.closed")) >= 3 and
                        receiver.of("conversation.closed"), "retried after the 500")  # fmt: skip
    assert len({t["webhook-id"] for t in tries}) == 1
    assert [ok for _, _, _, ok in receiver.got] == [True] * 3, "every signature verifies"
    body = receiver.got[2][2]
    assert body["data"]["conversation_id"] == conversation_id
    assert body["data"]["clause"]["clause_id"] == "1.2" and body["data"]["clause"]["text"]
    assert "this is unacceptable" not in json.dumps(body), "never what the visitor wrote"
    assert [b["type"] for _, _, b, _ in receiver.got] == ["conversation.closed"] * 3, (
        "only the events it asked for"
    )
    log = await until(
        lambda: _delivered(log_of(server, admin, made["webhook"]["id"])), "logged as delivered"
    )
    (entry,) = log
    assert entry["event_id"] == tries[0]["webhook-id"] and entry["type"] == "conversation.closed"
    assert [a["status"] for a in entry["attempts"]] == [500, 307, 204], "no redirect followed"
    assert entry["next_attempt_at"] is None
    assert all(a["duration_ms"] >= 0 and a["at"] for a in entry["attempts"])


async def _delivered(log: Any, count: int = 1) -> Any:
    """The delivery log once it holds ``count`` deliveries, all delivered."""
    items = await log
    return items if len(items) == count and all(i["state"] == "delivered" for i in items) else None


async def test_a_receiver_that_times_out_or_is_down_gets_the_webhook_when_it_answers(
    make_server: Callable[..., Server], receiver: Receiver
) -> None:
    """Time-out and outage: no answer within PARLEY_WEBHOOK_TIMEOUT, then nobody listening,
    are both logged as failed attempts; once the receiver answers, the webhook arrives."""
    server = make_server(**FAST).start()
    admin, agent_token = server.add_staff("Dan", "admin"), server.add_staff("Ann", "agent")
    receiver.start()
    receiver.plan.extend(["slow"])
    made = await register(server, admin, receiver.url, ["*"])
    receiver.secret = made["secret"]
    hook = made["webhook"]["id"]
    async with joined(server, agent_token) as (_, a, conversation_id):
        started = await until(
            lambda: _attempted(log_of(server, admin, hook), state="delivered"),
            "delivered on the second attempt",
        )
        timed_out, answered = started["attempts"]
        assert (timed_out["status"], timed_out["error"]) == (None, "no answer within 0.5 s")
        assert (answered["status"], answered["error"]) == (204, None)
        assert receiver.got[0][1]["webhook-id"] == receiver.got[1][1]["webhook-id"]
        receiver.stop()
        down = Receiver(receiver.port)
        down.secret = made["secret"]
        await a.send({"type": "resolve", "conversation_id": conversation_id})
        await a.expect("done")
        refused = await until(
            lambda: _attempted(log_of(server, admin, hook), "conversation.resolved"),
            "an attempt found nobody listening",
        )
        assert refused["attempts"][0]["error"] == "could not connect"
        down.start()
        try:
            await until(lambda: down.of("conversation.resolved", conversation_id), "arrived")
            assert all(ok for *_, ok in [*receiver.got, *down.got])
        finally:
            down.stop()


async def _attempted(log: Any, kind: str = "conversation.started", state: str = "") -> Any:
    """The logged delivery of ``kind`` once it was attempted (and is in ``state``, if given)."""
    for item in await log:
        if item["type"] == kind and item["attempts"] and state in ("", item["state"]):
            return item
    return None


async def test_a_closure_committed_before_kill_9_is_delivered_after_the_restart(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    """Restart safety: the closure's notice was committed with the closure; the receiver was
    unreachable until the server was killed; the restarted server delivers it."""
    server = make_server(**FAST).start()
    admin, agent_token = server.add_staff("Dan", "admin"), server.add_staff("Ann", "agent")
    receiver = Receiver()
    made = await register(server, admin, receiver.url, ["conversation.closed"])
    receiver.secret = made["secret"]
    conversation_id = await closed_conversation(server, agent_token, "1.1")
    server.kill()
    receiver.start()
    try:
        server.start()
        headers = await until(lambda: receiver.of("conversation.closed", conversation_id),
                              "delivered after the restart")  # fmt: skip
        assert all(ok for *_, ok in receiver.got)
        assert len({h["webhook-id"] for h in headers}) == 1
    finally:
        receiver.stop()


async def test_a_send_cut_short_by_kill_9_is_sent_again_with_the_same_id(
    make_server: Callable[..., Server], receiver: Receiver
) -> None:
    """At least once: the server dies while the receiver holds its request (sent, not yet
    recorded); the restarted server sends it again with the same webhook-id."""
    server = make_server(PARLEY_WEBHOOK_TIMEOUT="60", PARLEY_WEBHOOK_RETRY_BASE="0.2").start()
    admin, agent_token = server.add_staff("Dan", "admin"), server.add_staff("Ann", "agent")
    receiver.start()
    receiver.plan.extend(["slow"])
    made = await register(server, admin, receiver.url, ["conversation.closed"])
    receiver.secret = made["secret"]
    conversation_id = await closed_conversation(server, agent_token, "1.1")
    await until(lambda: receiver.of("conversation.closed"), "the first request arrived")
    server.kill()
    server.start()
    first, again = await until(
        lambda: len(receiver.of("conversation.closed")) >= 2 and receiver.of("conversation.closed"),
        "sent again after the restart",
    )
    assert first["webhook-id"] == again["webhook-id"]
    assert receiver.got[1][2]["data"]["conversation_id"] == conversation_id
    log = await until(
        lambda: _delivered(log_of(server, admin, made["webhook"]["id"])), "recorded once"
    )
    assert [a["status"] for a in log[0]["attempts"]] == [204], "the cut-short send left no trace"


async def test_two_processes_on_redis_deliver_each_event_once_per_endpoint(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path,
    receiver: Receiver,
) -> None:  # fmt: skip
    """Multi-process: conversations on A and on B, one endpoint registered through A; each
    event reaches it once (one process dispatches at a time)."""
    a, b = two_processes(make_server, redis_server, tmp_path, **FAST)
    admin, agent_token = a.add_staff("Dan", "admin"), a.add_staff("Ann", "agent")
    receiver.start()
    made = await register(a, admin, receiver.url, ["conversation.started", "conversation.closed"])
    receiver.secret = made["secret"]
    closed = [await closed_conversation(s, agent_token, "1.2") for s in (a, b, a, b)]
    log = await until(
        lambda: _delivered(log_of(b, admin, made["webhook"]["id"]), 8), "all delivered"
    )
    assert len(log) == 8
    await until(lambda: len(receiver.got) >= 8, "all received")
    ids = [h["webhook-id"] for _, h, _, _ in receiver.got]
    assert len(ids) == len(set(ids)) == 8, "each event once"
    for cid in closed:
        assert len(receiver.of("conversation.closed", cid)) == 1
    assert all(ok for *_, ok in receiver.got)


async def test_a_new_policy_version_is_announced_once_by_two_processes_starting(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path,
    receiver: Receiver, policies: Path,
) -> None:  # fmt: skip
    """policy.published: both processes restart on a folder with a new version; the one
    publication that stored it owes the event, so it arrives once."""
    redis_server.flush()
    shared = {"PARLEY_STORE": redis_server.url, "PARLEY_SIGNING_KEY": str(tmp_path / "k.pem"),
              **FAST}  # fmt: skip
    a, b = (make_server(policies, data_dir=tmp_path / n, **shared).start() for n in "ab")
    admin = a.add_staff("Dan", "admin")
    receiver.start()
    made = await register(a, admin, receiver.url, ["policy.published"])
    receiver.secret = made["secret"]
    a.stop()
    b.stop()
    write_v3(policies, "2100-01-01T00:00:00Z", "Complaints from the future are welcome")
    a.start()
    b.start()
    log = await until(
        lambda: _delivered(log_of(b, admin, made["webhook"]["id"])), "the new version announced"
    )
    assert [entry["type"] for entry in log] == ["policy.published"]
    ((_, headers, body, verified),) = receiver.got
    assert verified and headers["webhook-id"] == log[0]["event_id"]
    assert (body["data"]["version"], body["data"]["languages"]) == (3, ["en"])


BAD_BODIES: list[tuple[dict[str, Any] | bytes, str]] = [
    ({"url": "ftp://hooks.example/in", "events": ["*"]}, "invalid_webhook"),
    ({"url": "hooks.example/in", "events": ["*"]}, "invalid_webhook"),
    ({"url": "https://user:pw@hooks.example/in", "events": ["*"]}, "invalid_webhook"),
    ({"url": "https://hooks.example/in", "events": ["conversation.opened"]}, "bad_request"),
    ({"url": "https://hooks.example/in", "events": []}, "bad_request"),
    ({"url": "https://hooks.example/in", "events": ["*", "bar.created"]}, "invalid_webhook"),
    ({"url": "https://hooks.example/in"}, "bad_request"),
    ({"url": "https://hooks.example/in", "events": ["*"], "secret": "mine"}, "bad_request"),
    (b"not json", "bad_json"),
]


async def test_admins_manage_endpoints_and_bad_input_stores_nothing(
    make_server: Callable[..., Server],
) -> None:
    """Admin API: typed 400s for bad bodies and 404s for unknown ids, nothing stored; the
    secret is shown once; other roles are refused; each change is audited."""
    server = make_server().start()
    admin = server.add_staff("Wendy Admin", "admin")
    agent_token = server.add_staff("Walt Agent", "agent")
    compliance = server.add_staff("Wes Compliance", "compliance")
    async with admin_http(server, admin) as h:
        before = (await h.get("/api/admin/webhooks")).json()["items"]
        for body, code in BAD_BODIES:
            r = await (h.post("/api/admin/webhooks", content=body) if isinstance(body, bytes)
                       else h.post("/api/admin/webhooks", json=body))  # fmt: skip
            assert (r.status_code, r.json()["error"]["code"]) == (
                404 if code.endswith("not_found") else 400,
                code,
            ), (body, r.text)
        assert (await h.get("/api/admin/webhooks")).json()["items"] == before
        for method, path in (("DELETE", "/api/admin/webhooks/whk_nope"),
                             ("GET", "/api/admin/webhooks/whk_nope/deliveries")):  # fmt: skip
            r = await h.request(method, path)
            assert (r.status_code, r.json()["error"]["code"]) == (404, "webhook_not_found")
        r = await h.get("/api/admin/webhooks/whk_nope/deliveries", params={"limit": "0"})
        assert r.json()["error"]["code"] == "bad_request"
        made = await h.post(
            "/api/admin/webhooks",
            json={"url": "https://hooks.example/in", "events": ["bar.created"],
                  "description": "CRM"},
        )  # fmt: skip
        hook = made.json()["webhook"]
        listed = (await h.get("/api/admin/webhooks")).json()["items"]
        assert hook in listed and made.json()["secret"] not in json.dumps(listed)
        gone = await h.delete(f"/api/admin/webhooks/{hook['id']}")
        assert gone.status_code == 200 and gone.json()["webhook"]["deleted_at"]
        assert hook["id"] not in {
            e["id"] for e in (await h.get("/api/admin/webhooks")).json()["items"]
        }
        kept = await h.get(f"/api/admin/webhooks/{hook['id']}/deliveries")
        assert kept.status_code == 200 and kept.json() == {"items": [], "next_cursor": None}
    async with admin_http(server, agent_token) as h:
        assert (await h.get("/api/admin/webhooks")).status_code == 403
    async with admin_http(server, compliance) as h:
        r = await h.get("/api/compliance/audit", params={"limit": 500})
        entries = [e for e in r.json()["items"] if e["details"].get("id") == hook["id"]]
    assert [e["action"] for e in entries] == ["webhook_added", "webhook_deleted"]
    assert made.json()["secret"] not in json.dumps(entries)
