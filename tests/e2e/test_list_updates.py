"""The live conversation list through the real server: deltas, whole summaries, one lobby."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from harness import Client, Server, agent, client, conversation_record, merge, visitor

SUMMARY = {
    "id", "visitor_id", "policy", "state", "started_at", "updated_at", "last_seq", "head_hash",
    "agents", "waiting_since", "last_message", "last_author", "ended_at", "closed_clause",
    "assignee",
}  # fmt: skip


class ListView:
    """A console's copy of the open list, kept as docs/protocol.md §6.3 says, and its items."""

    def __init__(self, console: Client, delta: bool) -> None:
        self.console = console
        self.delta = delta
        [listed] = [f for f in console.seen if f["type"] == "conversations"]
        self.open: dict[str, dict[str, Any]] = {c["id"]: c for c in listed["items"]}
        self.items: list[dict[str, Any]] = []

    async def until(self, done: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not done():
                for item in (await self.console.expect("conversation_updates"))["items"]:
                    self.items.append(item)
                    if self.delta:
                        merge(self.open, item)
                    elif item["state"] == "open":
                        self.open[item["id"]] = item
                    else:
                        self.open.pop(item["id"], None)

    def about(self, conversation_id: str) -> list[dict[str, Any]]:
        return [item for item in self.items if item["id"] == conversation_id]

    def at(self, conversation_id: str, last_seq: int) -> bool:
        return self.open.get(conversation_id, {}).get("last_seq") == last_seq


async def join(staff: Client, conversation_id: str) -> None:
    await staff.send({"type": "join", "conversation_id": conversation_id})
    await staff.expect("caught_up")


async def test_a_delta_console_gets_what_changed_and_a_full_one_whole_summaries(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with (
        agent(server, agent_token, list_updates="delta") as d,
        agent(server, agent_token, list_updates="full") as f,
        agent(server, agent_token) as default,
        visitor(server) as v,
    ):
        deltas = ListView(d, delta=True)
        conversation_id = await v.accept()
        await deltas.until(lambda: conversation_id in deltas.open)
        assert set(deltas.about(conversation_id)[0]) == SUMMARY, "new to the list: whole"
        await v.say("Where is my parcel?", "p1")
        await deltas.until(lambda: deltas.at(conversation_id, 2))
        changed = deltas.about(conversation_id)[-1]
        assert set(changed) == {
            "id", "last_seq", "updated_at", "head_hash", "waiting_since", "last_message",
            "last_author",
        }  # fmt: skip
        assert changed["last_message"] == "Where is my parcel?"
        stored = (await conversation_record(server, compliance_token, conversation_id))[
            "conversation"
        ]
        assert deltas.open[conversation_id] == stored, "the merged copy is the summary"
        for whole in (ListView(f, delta=False), ListView(default, delta=False)):
            await whole.until(lambda w=whole: w.at(conversation_id, 2))
            assert whole.about(conversation_id)[-1] == stored


async def test_an_ended_conversation_leaves_a_delta_list_as_its_id_and_state(
    server: Server, agent_token: str
) -> None:
    async with (
        agent(server, agent_token, list_updates="delta") as d,
        agent(server, agent_token) as f,
        agent(server, agent_token) as staff,
        visitor(server) as v1,
        visitor(server) as v2,
    ):
        deltas, wholes = ListView(d, delta=True), ListView(f, delta=False)
        resolved_id, closed_id = await v1.accept(), await v2.accept()
        for view in (deltas, wholes):
            await view.until(lambda v=view: {resolved_id, closed_id} <= v.open.keys())
        for conversation_id in (resolved_id, closed_id):
            await join(staff, conversation_id)
        await staff.send({"type": "resolve", "conversation_id": resolved_id})
        await staff.expect("done")
        await staff.send({"type": "close", "conversation_id": closed_id, "clause_id": "1.1"})
        await staff.expect("done")
        for view in (deltas, wholes):
            await view.until(lambda v=view: not {resolved_id, closed_id} & v.open.keys())
        assert deltas.about(resolved_id)[-1] == {"id": resolved_id, "state": "resolved"}
        assert deltas.about(closed_id)[-1] == {"id": closed_id, "state": "closed"}
        assert wholes.about(closed_id)[-1]["closed_clause"] == "1.1"
        assert set(wholes.about(resolved_id)[-1]) == SUMMARY


async def test_every_console_of_a_form_gets_the_same_frames(
    make_server: Callable[..., Server],
) -> None:
    s = make_server().start()
    token = s.add_staff("Alice Agent", "agent")
    async with contextlib.AsyncExitStack() as stack:
        consoles = [
            await stack.enter_async_context(agent(s, token, list_updates=form))
            for form in ("delta", "full") * 8
        ]
        visitors = [await stack.enter_async_context(visitor(s)) for _ in range(5)]
        ids = [await v.accept() for v in visitors]

        async def chat(v: Any, i: int) -> None:
            for n in range(3):
                await v.say(f"message {n} from visitor {i}", f"m{i}-{n}")

        await asyncio.gather(*(chat(v, i) for i, v in enumerate(visitors)))
        for i, console in enumerate(consoles):
            view = ListView(console, delta=i % 2 == 0)
            await view.until(lambda v=view: all(v.at(c, 4) for c in ids))
    frames = [[f for f in c.seen if f["type"] == "conversation_updates"] for c in consoles]
    assert all(f == frames[0] for f in frames[0::2]), "delta consoles: identical frames"
    assert all(f == frames[1] for f in frames[1::2]), "full consoles: identical frames"
    names = [[[item["id"] for item in frame["items"]] for frame in f] for f in frames[:2]]
    assert names[0] == names[1], "both forms name the same conversations in the same rounds"


async def test_a_console_that_stops_reading_or_vanishes_holds_no_other_up(
    make_server: Callable[..., Server],
) -> None:
    """The stuck console's frames wait on its own connection until it is cut (1013)."""
    s = make_server(PARLEY_MAX_PENDING_FRAMES="5").start()
    token = s.add_staff("Alice Agent", "agent")
    small = socket.socket()
    small.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    small.connect(("127.0.0.1", s.port))
    async with contextlib.AsyncExitStack() as stack:
        visitors = [await stack.enter_async_context(visitor(s)) for _ in range(40)]
        ids = [await v.accept() for v in visitors]
        stuck = Client(await stack.enter_async_context(connect(f"{s.ws}/ws/agent", sock=small)))
        await stuck.send({"type": "hello", "token": token, "list_updates": "delta"})
        await stuck.expect("conversations")
        stuck.ws.transport.pause_reading()
        for _ in range(300):  # lists of 40 conversations: megabytes it never reads
            await stuck.send({"type": "list"})
        gone = await stack.enter_async_context(agent(s, token))
        gone.ws.transport.abort()
        watcher = await stack.enter_async_context(agent(s, token, list_updates="delta"))
        view = ListView(watcher, delta=True)
        for n in range(10):
            text = f"message {n}"
            await asyncio.gather(*(v.say(text, f"m{n}") for v in visitors))
            await view.until(lambda n=n: all(view.at(c, n + 2) for c in ids), within=5)
        stuck.ws.transport.resume_reading()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await stuck.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    got = [f for f in stuck.seen if f["type"] == "conversation_updates"]
    assert len(got) < 10, "it was cut, and dropped from the lobby, while the others heard on"


@pytest.mark.parametrize("value", ["sometimes", "DELTA", 1, None, ["delta"]])
async def test_a_bad_list_updates_gets_invalid_frame_and_changes_nothing(
    server: Server, agent_token: str, value: Any
) -> None:
    async with client(f"{server.ws}/ws/agent") as a, visitor(server) as v:
        await a.send({"type": "hello", "token": agent_token, "list_updates": value})
        error = await a.recv()
        assert (error["type"], error["code"], error["request"]) == (
            "error",
            "invalid_frame",
            "hello",
        )
        await v.accept()
        assert await a.quiet(0.5) == [], "no welcome, no list, no updates: no hello happened"
        await a.send({"type": "list"})
        assert (await a.recv())["code"] == "hello_required"
        await a.send({"type": "hello", "token": agent_token, "list_updates": "delta"})
        assert (await a.recv())["type"] == "welcome"


async def test_delta_consoles_that_join_mid_burst_end_with_the_list_as_it_is(
    make_server: Callable[..., Server],
) -> None:
    s = make_server().start()
    token = s.add_staff("Alice Agent", "agent")
    async with contextlib.AsyncExitStack() as stack:
        staff = await stack.enter_async_context(agent(s, token))
        visitors = [await stack.enter_async_context(visitor(s)) for _ in range(8)]
        ids = [await v.accept() for v in visitors]

        async def chat(v: Any, i: int) -> None:
            for n in range(15):
                await v.say(f"message {n}", f"m{i}-{n}")

        async def arrive() -> list[Client]:
            consoles = []
            for _ in range(6):
                consoles.append(
                    await stack.enter_async_context(agent(s, token, list_updates="delta"))
                )
                await asyncio.sleep(0.03)
            return consoles

        _, consoles = await asyncio.gather(
            asyncio.gather(*(chat(v, i) for i, v in enumerate(visitors))), arrive()
        )
        for conversation_id in ids[:2]:
            await join(staff, conversation_id)
            await staff.send({"type": "resolve", "conversation_id": conversation_id})
            await staff.expect("done")
        truth = await stack.enter_async_context(agent(s, token))
        [listed] = [f for f in truth.seen if f["type"] == "conversations"]
        expected = {c["id"]: c for c in listed["items"]}
        assert set(expected) == set(ids[2:])
        for console in consoles:
            view = ListView(console, delta=True)
            await view.until(lambda v=view: v.open == expected)
