"""An access request's copy read in pages, on SQLite and Redis: nothing left out, nothing
of another visitor's in it, and bars on a network shown without the other visitor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract import AGENT, T0, say, start
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness import RedisServer
from parley.bus import MemoryBus
from parley.domain import conversation as rules
from parley.domain.audit import OPERATOR
from parley.domain.bans import Ban
from parley.errors import VisitorNotFound
from parley.service import access
from parley.service.core import Core
from parley.store import open_store


@pytest.fixture(params=["sqlite", "redis"])
async def core(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[Core]:
    if request.param == "redis":
        redis_server.flush()
        url = redis_server.url
    else:
        url = f"sqlite:{tmp_path / 'parley.db'}"
    store = await open_store(url)
    yield Core(store, MemoryBus(), Ed25519PrivateKey.generate())
    await store.close()


async def history(core: Core, visitor_id: str, count: int) -> list[str]:
    """``count`` resolved conversations of ``visitor_id``, one message each."""
    ids = []
    for n in range(count):
        cid = f"c_{visitor_id}_{n:04d}"
        await start(core.store, visitor_id, cid)
        await say(core.store, cid, f"{visitor_id} says {n}", f"m{n}")
        await core.store.apply(cid, lambda c: rules.resolve(c, AGENT, None, T0))
        ids.append(cid)
    return ids


async def test_every_conversation_is_in_the_copy_across_pages(core: Core) -> None:
    """Bound nothing silently: a visitor with more conversations than a page gets them all."""
    mine = await history(core, "v_many", 5)
    await history(core, "v_other", 2)
    copy = await access.export(core, "v_many", OPERATOR, "json", page_size=2)
    assert [c["conversation"]["id"] for c in copy["conversations"]] == mine
    assert [c["transcript"][1]["data"]["text"] for c in copy["conversations"]] == [
        f"v_many says {n}" for n in range(5)
    ]
    assert "v_other" not in str(copy)


async def test_an_unknown_visitor_is_refused_and_nothing_is_audited(core: Core) -> None:
    with pytest.raises(VisitorNotFound):
        await access.export(core, "v_nobody", OPERATOR, "json")
    assert (await core.store.audit(None, 10)).items == []


def test_a_bar_on_someone_else_is_shown_without_what_is_theirs() -> None:
    clause = {"id": "1.1", "title": "Abuse", "text": "Do not."}
    on_network = Ban("b_1", "v_else", "192.0.2.0/24", "c_else", clause, "t", "s_a", None)
    on_me = Ban("b_2", "v_me", None, "c_me", clause, "t", "s_a", None)
    elsewhere = Ban("b_3", "v_else", "198.51.100.7/32", "c_else", clause, "t", "s_a", None)
    found = access.bars_about([on_network, on_me, elsewhere], "v_me", {"192.0.2.1"})
    assert [b["id"] for b in found] == ["b_1", "b_2"]
    network, mine = found
    assert network["your_addresses"] == ["192.0.2.1"] and not network["on_you"]
    assert not set(access.OTHERS_BAR_FIELDS) & set(network)
    assert mine["visitor_id"] == "v_me" and mine["on_you"]
