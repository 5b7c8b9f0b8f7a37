"""The lobby in one process: a real in-process bus, a real SQLite store, consoles that record."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract import say, start

from parley.bus import MemoryBus
from parley.bus.messages import Flooding, committed
from parley.service.lobby import FAN_OUT_BATCH, UPDATE_INTERVAL, ListUpdates, Lobby
from parley.store import open_store
from parley.store.base import Applied, Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:{tmp_path / 'parley.db'}")
    yield s
    await s.close()


@pytest.fixture
async def lobby(store: Store) -> AsyncIterator[tuple[Lobby, MemoryBus]]:
    bus = MemoryBus()
    lobby = Lobby(bus, store)
    await lobby.start()
    yield lobby, bus
    lobby.close()


class Console:
    """A console's connection as the lobby sees it: what was pushed, and when."""

    def __init__(self, full: bool = False, broken: bool = False) -> None:
        self.texts: list[str] = []
        self.times: list[float] = []
        self.full = full
        self.broken = broken
        self.calls = 0

    def push(self, text: str) -> bool:
        self.calls += 1
        if self.broken:
            raise ConnectionError("this console's connection is broken")
        if self.full:
            return False
        self.texts.append(text)
        self.times.append(asyncio.get_running_loop().time())
        return True

    def updates(self) -> list[dict]:
        frames = [json.loads(t) for t in self.texts]
        return [f for f in frames if f["type"] == "conversation_updates"]


async def announce(bus: MemoryBus, applied: Applied) -> None:
    await bus.committed(committed(applied.conversation, applied.event))


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    for _ in range(int(within / 0.005)):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"not so within {within} s")


async def test_one_frame_encoded_once_reaches_every_console(
    lobby: tuple[Lobby, MemoryBus], store: Store
) -> None:
    """The same text object for every console of a form: built and encoded once per round."""
    lobby_, bus = lobby
    consoles = [Console() for _ in range(3 * FAN_OUT_BATCH)]
    for i, c in enumerate(consoles):
        lobby_.register(ListUpdates.FULL if i % 2 else ListUpdates.DELTA, c.push)
    await announce(bus, await start(store, "v_once", "c_once000000"))
    await until(lambda: all(c.updates() for c in consoles))
    full = consoles[1].texts[-1]
    delta = consoles[0].texts[-1]
    assert all(c.texts[-1] is (full if i % 2 else delta) for i, c in enumerate(consoles))


async def test_a_console_that_takes_no_more_is_dropped_and_the_others_still_hear(
    lobby: tuple[Lobby, MemoryBus], store: Store
) -> None:
    lobby_, bus = lobby
    full, broken = Console(full=True), Console(broken=True)
    others = [Console() for _ in range(FAN_OUT_BATCH + 5)]
    for c in (full, broken, *others):
        lobby_.register(ListUpdates.FULL, c.push)
    applied = await start(store, "v_drop", "c_drop000000")
    await announce(bus, applied)
    await until(lambda: all(len(c.updates()) == 1 for c in others))
    await asyncio.sleep(UPDATE_INTERVAL)
    await announce(bus, await say(store, applied.conversation.id, "again", "m1"))
    await until(lambda: all(len(c.updates()) == 2 for c in others))
    assert full.calls == broken.calls == 1, "dropped at once, never handed a frame again"


async def test_a_big_fan_out_yields_to_the_loop_between_batches(
    lobby: tuple[Lobby, MemoryBus], store: Store
) -> None:
    lobby_, bus = lobby
    turns = 0

    async def count_turns() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    seen: list[int] = []
    for _ in range(3 * FAN_OUT_BATCH):
        lobby_.register(ListUpdates.FULL, lambda text: seen.append(turns) or True)
    counter = asyncio.create_task(count_turns())
    try:
        await announce(bus, await start(store, "v_turns", "c_turns00000"))
        await until(lambda: len(seen) == 3 * FAN_OUT_BATCH)
    finally:
        counter.cancel()
    batches = [seen[i : i + FAN_OUT_BATCH] for i in range(0, len(seen), FAN_OUT_BATCH)]
    assert all(len(set(b)) == 1 for b in batches), "a batch is handed out in one turn"
    assert len({b[0] for b in batches}) == 3, "the loop ran between batches"


async def test_a_quiet_change_goes_at_once_and_a_burst_at_most_every_interval(
    lobby: tuple[Lobby, MemoryBus], store: Store
) -> None:
    lobby_, bus = lobby
    console = Console()
    lobby_.register(ListUpdates.DELTA, console.push)
    applied = await start(store, "v_burst", "c_burst00000")
    loop = asyncio.get_running_loop()
    began = loop.time()
    await announce(bus, applied)
    await until(lambda: len(console.updates()) == 1)
    assert console.times[-1] - began < UPDATE_INTERVAL / 2, "after a quiet spell: at once"
    for i in range(30):
        await announce(bus, await say(store, applied.conversation.id, f"burst {i}", f"b{i}"))
        await asyncio.sleep(0.01)
    await until(lambda: console.updates()[-1]["items"][0].get("last_seq") == 31)
    sent = [t for t, text in zip(console.times, console.texts, strict=True) if "updates" in text]
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert len(console.updates()) < 31, "the burst was merged"
    assert min(gaps) >= UPDATE_INTERVAL * 0.9


async def test_a_delta_console_first_gets_the_list_its_deltas_apply_to(
    store: Store,
) -> None:
    """Conversations opened before the lobby started are in the list; later changes are
    deltas against it, and flooding flags go to every console."""
    earlier = await start(store, "v_early", "c_early00000")
    bus = MemoryBus()
    lobby = Lobby(bus, store)
    await lobby.start()
    try:
        console = Console()
        lobby.register(ListUpdates.DELTA, console.push)
        [listed] = [json.loads(t) for t in console.texts]
        assert listed == {"type": "conversations", "items": [earlier.conversation.to_dict()]}
        applied = await say(store, earlier.conversation.id, "hello", "m1")
        await announce(bus, applied)
        await bus.publish(Flooding(earlier.conversation.id))
        await until(lambda: bool(console.updates()))
        [update] = console.updates()
        [item] = update["items"]
        assert set(item) < set(applied.conversation.to_dict()), "only what changed"
        assert item["last_message"] == "hello" and item["id"] == earlier.conversation.id
        assert update["flooding"] == [earlier.conversation.id]
    finally:
        lobby.close()


async def test_consoles_arriving_between_two_rounds_share_one_encoded_list(
    lobby: tuple[Lobby, MemoryBus], store: Store
) -> None:
    lobby_, bus = lobby
    first, second, later = Console(), Console(), Console()
    lobby_.register(ListUpdates.DELTA, first.push)
    lobby_.register(ListUpdates.DELTA, second.push)
    assert first.texts[0] is second.texts[0]
    await announce(bus, await start(store, "v_share", "c_share00000"))
    await until(lambda: bool(first.updates()))
    lobby_.register(ListUpdates.DELTA, later.push)
    assert [c["id"] for c in json.loads(later.texts[0])["items"]] == ["c_share00000"]
