"""The texts a citation quotes, read back from a store (SQLite and Redis): the one the visitor
accepted, in their language, and the one that governs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from contract import CLIENT, T0, say, versions
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness import RedisServer
from parley.bus import MemoryBus
from parley.domain import conversation as rules
from parley.domain.agent import Staff, StaffRole, token_hash
from parley.domain.transcript import EventType
from parley.service.agent import AgentSession
from parley.service.citations import citing_view, texts_for
from parley.service.core import Core
from parley.store import open_store
from translated import with_german

CITATIONS = (EventType.WARNING, EventType.CLOSED)


@pytest.fixture(params=["sqlite", "redis"])
async def core(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[Core]:
    """A core whose store has version 2 published in English (governing) and German."""
    if request.param == "redis":
        redis_server.flush()
        url = redis_server.url
    else:
        url = f"sqlite:{tmp_path / 'parley.db'}"
    store = await open_store(url)
    await store.publish_policy(with_german(versions()[-1]), T0)
    yield Core(store, MemoryBus(), Ed25519PrivateKey.generate(), clock=lambda: T0)
    await store.close()


async def test_a_translations_digest_finds_it_and_the_text_that_governs_it(core: Core) -> None:
    english = with_german(versions()[-1])
    german = english.for_language("de")
    accepted, governing = await texts_for(core, german.ref)
    assert (accepted.language, accepted.sha256) == ("de", german.sha256)
    assert (governing.language, governing.sha256) == ("en", english.sha256)
    accepted, governing = await texts_for(core, english.ref)
    assert accepted is governing and accepted.sha256 == english.sha256


async def test_a_console_sees_the_governing_clauses_only_beside_a_translation(core: Core) -> None:
    english = with_german(versions()[-1])
    german, governing = await texts_for(core, english.for_language("de").ref)
    view = citing_view(german, governing)
    assert (view["language"], view["direction"]) == ("de", "ltr")
    assert view["governing"]["language"] == "en"
    assert view["governing"]["sha256"] == english.sha256
    assert view["governing"]["clauses"][0] == {
        "id": "1.1", "title": english.clause("1.1").title, "text": english.clause("1.1").text
    }  # fmt: skip
    assert [c["id"] for c in view["governing"]["clauses"]] == list(german.clauses)
    assert citing_view(*await texts_for(core, english.ref)) == {
        "language": "en",
        "direction": "ltr",
    }


async def test_an_agent_cites_the_german_clause_a_visitor_accepted_beside_the_governing_one(
    core: Core,
) -> None:
    """Issue 16 through the agent's session: the console is offered both texts, the warning and
    the closure quote the German clause with the governing English one, and so does the bar."""
    english = with_german(versions()[-1])
    german = english.for_language("de")
    cid = "c_german01"
    await core.store.start_conversation(
        "v_de",
        lambda previous: rules.start(
            conversation_id=cid, visitor_id="v_de", previous=previous, offered=german,
            answer=german.ref, client=CLIENT, at=T0,
        ),
    )  # fmt: skip
    said = await say(core.store, cid, "Ich weiß, wo Sie wohnen", "m1")
    assert said.event is not None
    await core.store.add_staff(
        Staff("s_alice", "Alice", StaffRole.AGENT, "2026-11-01T12:00:00.000Z"), token_hash("t_a")
    )
    frames: list[dict[str, Any]] = []

    async def send(frame: dict[str, Any]) -> None:
        frames.append(frame)

    session = AgentSession(core, send, lambda topic: lambda: None, lambda text: True)
    try:
        await session.handle({"type": "hello", "token": "t_a"})
        await session.handle({"type": "join", "conversation_id": cid})
        quoted = [said.event.seq]
        await session.handle(
            {"type": "warn", "conversation_id": cid, "clause_id": "1.2", "message_seqs": quoted}
        )
        await session.handle(
            {"type": "close", "conversation_id": cid, "clause_id": "1.2", "message_seqs": quoted,
             "bar": {"hours": 1}}
        )  # fmt: skip
    finally:
        session.close()
    (joined,) = [f for f in frames if f["type"] == "joined"]
    assert joined["policy"]["sha256"] == german.sha256
    assert joined["policy"]["governing"]["sha256"] == english.sha256
    german_clause = {"id": "1.2", "title": "Regel 1.2", "text": german.clause("1.2").text}
    english_clause = {"id": "1.2", "title": english.clause("1.2").title,
                      "text": english.clause("1.2").text}  # fmt: skip
    cited = [e for e in await core.store.events(cid) if e.type in CITATIONS]
    assert [e.type for e in cited] == [EventType.WARNING, EventType.CLOSED]
    for event in cited:
        assert event.data["clause"] == german_clause
        assert event.data["governing"]["clause"] == english_clause
        assert "Zum Beispiel:" in event.data["notice"]
    (bar,) = await core.store.bans()
    assert (bar.clause, bar.governing_clause) == (german_clause, english_clause)
