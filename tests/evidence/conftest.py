"""Real evidence bundles for the tamper-detection tests, made once per session.

One ``parley serve`` in a subprocess with its own data folder; a visitor and an
agent over real WebSockets hold two conversations (one warned under clause 4.1,
quoting two of the visitor's messages, then closed for a violation citing clause 1.2
and quoting the threat; one resolved); the real ``parley evidence export`` CLI writes
each bundle (closed first, then resolved). Every fixture a test receives is a deep
copy, so tests may mutate; the session's own ``Made.closed``/``Made.resolved`` are
read-only.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import Server, agent, visitor

CLIENT_FACTS = {
    "locale": "en-GB",
    "time_zone": "Europe/Paris",
    "page_url": "https://shop.example/help/returns",
    "widget_build": "w-2024.11-evidence",
}
#: What the visitor of the closed conversation shouts twice (quoted by the warning).
SHOUTED = "WHERE IS MY PARCEL???"


@dataclass(frozen=True)
class Made:
    """What the session produced: the server, its key, and the two bundles on disk."""

    server: Server
    public_key_b64: str
    public_key_pem: str
    closed_path: Path
    resolved_path: Path
    closed: dict[str, Any]
    resolved: dict[str, Any]


async def _join(a: Any, conversation_id: str) -> None:
    await a.send({"type": "join", "conversation_id": conversation_id})
    await a.expect("joined")
    await a.events_until_caught_up()


async def _drive(server: Server, agent_token: str) -> tuple[str, str]:
    """Hold the two conversations; return (closed id, resolved id)."""
    async with visitor(server, client=CLIENT_FACTS) as v:
        closed_id = await v.accept()
        await v.say("Hello, my order #1234 never arrived.", "v-1")
        await v.say("It has been three weeks — où est mon colis ?", "v-2")
        shouted = [(await v.say(SHOUTED, "v-3"))["seq"]]
        async with agent(server, agent_token) as a:
            await _join(a, closed_id)
            reply = {"type": "reply", "conversation_id": closed_id, "client_id": "a-1"}
            await a.send({**reply, "text": "I am sorry for the delay; let me check."})
            await a.expect("ack")
            shouted.append((await v.say(SHOUTED, "v-4"))["seq"])
            await a.send(
                {
                    "type": "warn",
                    "conversation_id": closed_id,
                    "clause_id": "4.1",
                    "note": "repeated, in capital letters",
                    "message_seqs": shouted,
                }
            )
            await a.expect("done")
            threat = await v.say("Answer me now or I will find where you live.", "v-5")
            await a.send(
                {
                    "type": "close",
                    "conversation_id": closed_id,
                    "clause_id": "1.2",
                    "note": "threat against staff",
                    "message_seqs": [threat["seq"]],
                }
            )
            await a.expect("done")

    async with visitor(server, client=CLIENT_FACTS) as v:
        resolved_id = await v.accept()
        await v.say("How do I reset my password?", "r-1")
        async with agent(server, agent_token) as a:
            await _join(a, resolved_id)
            reply = {"type": "reply", "conversation_id": resolved_id, "client_id": "a-2"}
            await a.send({**reply, "text": "Use the 'forgot password' link."})
            await a.expect("ack")
            await a.send({"type": "resolve", "conversation_id": resolved_id, "note": "answered"})
            await a.expect("done")
    return closed_id, resolved_id


def _export(server: Server, conversation_id: str, path: Path) -> dict[str, Any]:
    result = server.cli("evidence", "export", conversation_id, "--output", str(path))
    assert result.returncode == 0, result.stderr
    bundle: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return bundle


@pytest.fixture(scope="session")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    root = tmp_path_factory.mktemp("evidence")
    # No periodic anchoring during the session: the log holds exactly the two heads
    # anchored when the conversations ended, then the head each export anchors (its
    # "evidence exported" audit entry moves the conversation's audit head): the closed
    # bundle's leaf is the 3rd of 3, the resolved one's the 4th of 4. Every bundle's
    # shape is fixed.
    server = Server(root / "data", PARLEY_ANCHOR_INTERVAL="3600").start()
    try:
        agent_token = server.add_staff("Eve Agent", "agent")
        server.add_staff("Carl Compliance", "compliance")
        closed_id, resolved_id = asyncio.run(_drive(server, agent_token))
        closed = _export(server, closed_id, root / "closed.json")
        resolved = _export(server, resolved_id, root / "resolved.json")
        keys = server.cli("keys")
        assert keys.returncode == 0, keys.stderr
        b64 = keys.stdout.split("public key (base64): ")[1].split()[0]
        published = httpx.get(f"{server.http}/api/keys", timeout=10).json()["public_key"]
        assert published == b64, "the CLI and the API publish different keys"
        pem = keys.stdout[keys.stdout.index("-----BEGIN PUBLIC KEY-----") :]
        pem = pem[: pem.index("-----END PUBLIC KEY-----") + len("-----END PUBLIC KEY-----")]
        yield Made(
            server, b64, pem + "\n", root / "closed.json", root / "resolved.json", closed, resolved
        )
    finally:
        server.stop()


@pytest.fixture
def closed_bundle(evidence: Made) -> dict[str, Any]:
    """The bundle of the conversation closed for a violation (a fresh deep copy)."""
    return copy.deepcopy(evidence.closed)


@pytest.fixture
def resolved_bundle(evidence: Made) -> dict[str, Any]:
    """The bundle of the resolved conversation (a fresh deep copy)."""
    return copy.deepcopy(evidence.resolved)


@pytest.fixture
def bundles(evidence: Made) -> dict[str, dict[str, Any]]:
    """Both bundles by name, ``"closed"`` and ``"resolved"`` (fresh deep copies)."""
    return {"closed": copy.deepcopy(evidence.closed), "resolved": copy.deepcopy(evidence.resolved)}


@pytest.fixture(scope="session")
def public_key(evidence: Made) -> bytes:
    """The server's real Ed25519 public key, raw 32 bytes."""
    return base64.b64decode(evidence.public_key_b64)
