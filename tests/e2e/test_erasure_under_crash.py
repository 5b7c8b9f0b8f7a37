"""An erasure on request cut short by ``kill -9`` of the server, on SQLite and on Redis.

A visitor has many conversations; the server is killed while it erases them (once the
first erasure record is committed, the HTTP request still running). Restarted, every
conversation's bundle verifies as it stands, some erased and some not; the same request
asked again finishes the job: every bundle VALID with nothing personal left, and each
conversation's erasure recorded exactly once, in its transcript and in the audit trail.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import RedisServer, Server, agent, api, visitor
from parley.evidence.verify import verify
from parley.store import open_store
from parley.store.base import Store

CONVERSATIONS, MESSAGES = 40, 4
BASIS = "GDPR Art. 17, request 2027-009"


@pytest.fixture(params=["sqlite", "redis"])
def deployment(
    request: pytest.FixtureRequest, make_server: Callable[..., Server], tmp_path: Path
) -> Iterator[tuple[Server, str]]:
    """A server of this test's own, and its store's URL."""
    if request.param == "sqlite":
        s = make_server().start()
        yield s, f"sqlite:{s.data_dir / 'parley.db'}"
        return
    r = RedisServer(tmp_path / "redis").start()
    try:
        yield make_server(PARLEY_STORE=r.url).start(), r.url
    finally:
        r.stop()


def secret(n: int, m: int) -> str:
    return f"conversation {n} message {m} SECRET-{n:03d}-{m}"


async def history(s: Server, agent_token: str) -> tuple[str, list[str]]:
    """One visitor's resolved conversations, each with MESSAGES messages."""
    ids = []
    async with visitor(s) as v, agent(s, agent_token) as a:
        for n in range(CONVERSATIONS):
            cid = await v.accept()
            for m in range(MESSAGES):
                await v.say(secret(n, m), f"m{n}-{m}")
            for frame in ({"type": "claim"}, {"type": "resolve"}):
                await a.send({**frame, "conversation_id": cid})
                await a.expect("done")
            ids.append(cid)
    return v.visitor_id, ids


async def recorded(store: Store, before: dict[str, int]) -> int:
    """How many of the conversations have grown an erasure record (read from the store)."""
    snapshots = [await store.conversation(cid) for cid in before]
    return sum(1 for c in snapshots if c is not None and c.last_seq > before[c.id])


def erase_in_background(s: Server, token: str, visitor_id: str) -> threading.Thread:
    """The erasure request, sent from a thread: it dies with the server."""

    def send() -> None:
        path = f"{s.http}/api/admin/visitors/{visitor_id}/erase"
        # The server is killed under it: what this test is about.
        with contextlib.suppress(httpx.TransportError):
            httpx.post(path, json={"basis": BASIS}, headers={"Authorization": f"Bearer {token}"},
                       timeout=120)  # fmt: skip

    worker = threading.Thread(target=send)
    worker.start()
    return worker


async def bundle(s: Server, token: str, conversation_id: str) -> dict[str, Any]:
    r = await api(s, f"/api/compliance/conversations/{conversation_id}/evidence", token)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def test_an_erasure_killed_midway_is_finished_by_asking_again(
    deployment: tuple[Server, str],
) -> None:
    s, url = deployment
    admin, compliance = s.add_staff("Dana Admin", "admin"), s.add_staff("Carol", "compliance")
    visitor_id, ids = await history(s, s.add_staff("Alice Agent", "agent"))
    key = base64.b64decode((await api(s, "/api/keys")).json()["public_key"])
    store = await open_store(url)
    try:
        before = {cid: (await store.conversation(cid)).last_seq for cid in ids}  # type: ignore[union-attr]
        worker = erase_in_background(s, admin, visitor_id)
        while await recorded(store, before) == 0:  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.001)
        s.kill()
        worker.join()
        cut = await recorded(store, before)
    finally:
        await store.close()
    assert 0 < cut < CONVERSATIONS, f"the kill came mid-erasure ({cut} recorded)"

    s.start()
    for cid in ids:
        report = verify(await bundle(s, compliance, cid), key)
        assert report.ok, (cid, report.failure)

    async with httpx.AsyncClient(base_url=s.http, timeout=120) as http:
        answer = await http.post(
            f"/api/admin/visitors/{visitor_id}/erase", json={"basis": BASIS},
            headers={"Authorization": f"Bearer {admin}"},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        audit = await http.get(
            "/api/compliance/audit?limit=500", headers={"Authorization": f"Bearer {compliance}"}
        )
    certified = answer.json()["certificate"]["conversations"]
    assert [c["conversation_id"] for c in certified] == ids
    assert all(c["records"] == [before[c["conversation_id"]] + 1] for c in certified), (
        "recorded once each"
    )
    for n, cid in enumerate(ids):
        after = await bundle(s, compliance, cid)
        report = verify(after, key)
        assert report.ok, (cid, report.failure)
        types = [e["type"] for e in after["transcript"]]
        assert types.count("erased") == 1 and types[-1] == "erased"
        assert {(f.seq, f.field) for f in report.erased} >= {
            (1, "ip"), *((m + 2, "text") for m in range(MESSAGES))
        }  # fmt: skip
        assert f"SECRET-{n:03d}" not in json.dumps(after)
    erased = [e["conversation_id"] for e in audit.json()["items"] if e["action"] == "erased"]
    assert sorted(erased) == sorted(ids), "one audit entry per conversation"
