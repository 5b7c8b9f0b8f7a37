"""One action, one commit: kill -9 under load loses no staff action's audit entry.

Agents join, reply, warn and close (some with a bar) while visitors talk; the
server is killed with SIGKILL in the middle. After a restart every transcript
event of a staff action has exactly one audit entry naming it, the audit trail
verifies, and every conversation's evidence bundle verifies offline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from harness import Client, RedisServer, Server, agent, api, visitor
from parley.evidence.verify import verify

CONVERSATIONS = 12
STAFF_EVENTS = {
    "assigned": "assigned",
    "agent_joined": "agent_joined",
    "warning": "warned",
    "closed": "closed",
}


@pytest.fixture(params=["sqlite", "redis"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    r = RedisServer(tmp_path / "redis").start()
    yield {"PARLEY_STORE": r.url}
    r.stop()


async def _work(a: Client, conversation_id: str, n: int) -> None:
    """An agent's day on one conversation: join, reply, warn, and end it one way or another."""
    await a.send({"type": "join", "conversation_id": conversation_id})
    for i in range(3):
        await a.send(
            {"type": "reply", "conversation_id": conversation_id, "client_id": f"r{n}-{i}",
             "text": f"reply {i}"}
        )  # fmt: skip
    await a.send({"type": "warn", "conversation_id": conversation_id, "clause_id": "1.2"})
    close: dict[str, Any] = {"type": "close", "conversation_id": conversation_id}
    if n % 3 == 0:
        close |= {"clause_id": "1.2", "bar": {"hours": 24}}
    elif n % 3 == 1:
        close |= {"clause_id": "1.1"}
    else:
        close = {"type": "resolve", "conversation_id": conversation_id}
    await a.send(close)


async def _drive(server: Server, token: str, ids: list[str]) -> None:
    """Send everything without waiting for answers, then keep reading until the kill."""
    async with agent(server, token) as a:
        for n, conversation_id in enumerate(ids):
            await _work(a, conversation_id, n)
        while True:
            await a.recv(timeout=30)


async def test_every_staff_action_has_its_audit_entry_after_kill_9(
    make_server: Callable[..., Server], store_env: dict[str, str], tmp_path: Path
) -> None:
    s = make_server(data_dir=tmp_path / "data", **store_env).start()
    token = s.add_staff("Alice Agent", "agent")
    compliance = s.add_staff("Carol Compliance", "compliance")
    ids = []
    for i in range(CONVERSATIONS):
        async with visitor(s) as v:
            ids.append(await v.accept())
            await v.say(f"message {i}", f"m{i}")
    driving = asyncio.create_task(_drive(s, token, ids))
    # Kill once the agent's actions are landing (some done, some not yet).
    for _ in range(400):
        r = await api(s, f"/api/compliance/conversations/{ids[CONVERSATIONS // 2]}", compliance)
        if r.status_code == 200 and len(r.json()["transcript"]) >= 4:
            break
        await asyncio.sleep(0.01)
    s.kill()
    with contextlib.suppress(ConnectionClosed, InvalidStatus, OSError, TimeoutError):
        await driving
    s.start()

    audit = await _whole_audit(s, compliance)
    audited = {(e["conversation_id"], e["details"]["seq"], e["action"]) for e in audit}
    assert len(audited) == len(audit), "no action was audited twice"
    staff_events = 0
    for conversation_id in ids:
        record = (
            await api(s, f"/api/compliance/conversations/{conversation_id}", compliance)
        ).json()
        for event in record["transcript"]:
            action = _action(event)
            if action is not None:
                staff_events += 1
                assert (conversation_id, event["seq"], action) in audited, (
                    f"{action} at seq {event['seq']} of {conversation_id} has no audit entry"
                )
    assert staff_events > CONVERSATIONS, "the kill came after some staff actions committed"
    assert len(audit) == staff_events, "no audit entry names an action that did not commit"

    verified = s.cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    key = base64.b64decode((await api(s, "/api/keys")).json()["public_key"])
    for conversation_id in ids:
        path = f"/api/compliance/conversations/{conversation_id}/evidence"
        bundle = (await api(s, path, compliance)).json()
        report = verify(bundle, key)
        assert report.ok, f"{conversation_id}: {report.failure}"


def _action(event: dict[str, Any]) -> str | None:
    """The audit action a transcript event of a staff member owes, if it is one."""
    if event["author"]["role"] != "agent":
        return None
    if event["type"] == "message":
        return "replied"
    return STAFF_EVENTS.get(event["type"], "resolved" if event["type"] == "resolved" else None)


async def _whole_audit(s: Server, token: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = (await api(s, f"/api/compliance/audit?limit=500{cursor}", token)).json()
        entries += [e for e in page["items"] if e["action"] != "evidence_exported"]
        if page["next_cursor"] is None:
            return [e for e in entries if e["conversation_id"] is not None]
        cursor = f"&cursor={page['next_cursor']}"
