"""A visitor with everything an access request must cover, made through the real server.

Two conversations — a hostile message, an e-mail address left in away mode, a
warning, a resolution; then a closure with a bar on the visitor — and another
visitor closed with a bar on the address both came from.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from harness import Server, agent, visitor

HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> you idiots'
OTHER_TEXT = "the other visitor's own words, never theirs to read"
CLIENT = {"time_zone": "Europe/Paris", "locale": "fr-FR", "page_url": "https://shop.example/help"}


@dataclass
class Scene:
    server: Server
    compliance: str
    agent: str
    visitor_id: str
    token: str
    conversations: list[str]
    other_visitor_id: str
    other_conversation: str


async def _done(a: Any, frame: dict[str, Any]) -> None:
    await a.send(frame)
    await a.expect("done")


async def build(server: Server, agent_token: str) -> tuple[str, str, list[str], str, str]:
    """The scene's conversations: (visitor id, token, their two conversations, the other
    visitor's id and conversation)."""
    async with visitor(server, client=CLIENT) as v, agent(server, agent_token) as a:
        first = await v.accept()
        await v.say(HOSTILE, "m1")  # seq 2
        await v.send({"type": "contact", "client_id": "k1", "email": "ada@example.com"})
        await v.expect("ack")
        await _done(a, {"type": "claim", "conversation_id": first})
        await _done(
            a,
            {"type": "warn", "conversation_id": first, "clause_id": "1.1",
             "note": "Please keep it civil.", "message_seqs": [2]},
        )  # fmt: skip
        await _done(a, {"type": "resolve", "conversation_id": first})
        second = await v.accept()
        await v.say("I am back, and still angry", "m2")
        await _done(a, {"type": "claim", "conversation_id": second})
        await _done(
            a,
            {"type": "close", "conversation_id": second, "clause_id": "1.1",
             "bar": {"hours": 1}},
        )  # fmt: skip
    async with visitor(server) as w, agent(server, agent_token) as a:
        other = await w.accept()
        await w.say(OTHER_TEXT, "o1")
        await _done(a, {"type": "claim", "conversation_id": other})
        # A bar on the address both visitors came from: it concerns the first one too.
        await _done(
            a,
            {"type": "close", "conversation_id": other, "clause_id": "1.1",
             "bar": {"hours": 1, "ip": True}},
        )  # fmt: skip
    return v.visitor_id, v.token, [first, second], w.visitor_id, other


def make_scene(server: Server) -> Scene:
    compliance = server.add_staff("Carol Compliance", "compliance")
    agent_token = server.add_staff("Alice Agent", "agent")
    # On a thread of its own: in browser tests, Playwright's sync API holds this thread's loop.
    with ThreadPoolExecutor(1) as worker:
        made = worker.submit(asyncio.run, build(server, agent_token)).result()
    vid, token, conversations, other_vid, other = made
    return Scene(server, compliance, agent_token, vid, token, conversations, other_vid, other)
