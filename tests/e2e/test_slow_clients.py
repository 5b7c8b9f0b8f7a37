"""Slow and stalled clients, through a real server: they are dropped, the others are served.

A stalled client here is a real WebSocket client on a socket with a small
receive buffer that stops reading at the TCP level: the server's writes then
fill the kernel's buffers and the transport's, as with a frozen tab or a
client that never reads. The server must close it (1013) or, when not even
the close frame can be written, reset it; either way the socket, its buffers
and its session are released, which the tests observe from outside: the
client's socket receives the reset or the close, and the server's end of the
TCP connection is gone from the kernel's table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from harness import Client, Server, Visitor, agent, visitor

#: Generous: the server needs its send timeout plus its close timeout (5 s).
RELEASED_WITHIN = 90.0
TCP_ESTABLISHED = 1
BIG = "x" * 60_000  # one event of about 60 KB: buffers fill after a few dozen


class Stalled:
    """A client on a socket with a small receive buffer, which can stop reading at any time."""

    def __init__(self, client: Client, sock: socket.socket, server: Server) -> None:
        self.client = client
        self.sock = sock
        self.server = server
        self.port = sock.getsockname()[1]

    def stop_reading(self) -> None:
        self.client.ws.transport.pause_reading()

    def tcp_state(self) -> int:
        return self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]

    def server_end(self) -> list[str] | None:
        """The kernel's row for the server's end of this TCP connection, while it holds one."""
        ours = f":{self.server.port:04X}", f":{self.port:04X}"
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if (fields[1][-5:], fields[2][-5:]) == ours:
                return fields
        return None

    def server_end_queued(self) -> int:
        """Bytes the kernel holds for this client at the server's end (its send queue)."""
        row = self.server_end()
        return int(row[4].split(":")[0], 16) if row else 0

    def released(self) -> bool:
        return self.tcp_state() != TCP_ESTABLISHED and self.server_end() is None

    async def wait_released(self) -> None:
        for _ in range(int(RELEASED_WITHIN / 0.2)):
            if self.released():
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"the server still holds the stalled connection from :{self.port}")


@contextlib.asynccontextmanager
async def stalled(server: Server, path: str) -> AsyncIterator[Stalled]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    # No keepalive of the client's own: it would give up on the server first.
    async with connect(f"{server.ws}{path}", sock=sock, open_timeout=10, ping_interval=None) as ws:
        yield Stalled(Client(ws), sock, server)


@contextlib.asynccontextmanager
async def stalled_agent(server: Server, token: str) -> AsyncIterator[Stalled]:
    async with stalled(server, "/ws/agent") as s:
        await s.client.send({"type": "hello", "token": token})
        await s.client.expect("conversations")
        yield s


async def join(a: Client, conversation_id: str) -> None:
    await a.send({"type": "join", "conversation_id": conversation_id})
    await a.expect("caught_up")


async def log_of(server: Server) -> str:
    return await asyncio.to_thread(server.log.read_text)


async def test_a_client_that_takes_no_frame_within_the_send_timeout_is_dropped_others_served(
    make_server: Callable[..., Server],
) -> None:
    """PARLEY_SEND_TIMEOUT=1: an agent that asks for transcripts and never reads them is closed
    (1013) or reset, and released; a visitor and another agent on the same conversation carry
    on. (Before, the send waited forever: the stalled socket stayed open for good.)"""
    server = make_server(PARLEY_SEND_TIMEOUT="1", PARLEY_MAX_MESSAGE_CHARS="60000").start()
    token = server.add_staff("Ann", "agent")
    async with visitor(server) as v, agent(server, token) as a:
        conversation_id = await v.accept()
        for i in range(5):
            await v.say(BIG, f"big-{i}")
        await join(a, conversation_id)
        async with stalled_agent(server, token) as s:
            s.stop_reading()
            for _ in range(100):
                await s.client.send({"type": "join", "conversation_id": conversation_id})
            await s.wait_released()
        # 7 and 8: the first join claimed the conversation (assigned) and joined it.
        assert (await v.say("still served", "after"))["seq"] == 9
        assert (await a.expect("event"))["event"]["client_id"] == "after"
    assert "took no frame for 1 s" in await log_of(server)


@pytest.mark.parametrize("who", ["agent", "visitor"])
async def test_a_client_that_falls_max_pending_frames_behind_is_dropped_others_served(
    make_server: Callable[..., Server], who: str
) -> None:
    """PARLEY_MAX_PENDING_FRAMES=20 (and a send timeout too long to matter): a stalled agent
    watching a busy visitor, or a stalled visitor with a busy agent, is closed as soon as 20
    events wait for it, even while a send to it is stuck, and released; the other side and a
    second agent keep being served. (Before, the stuck send kept it open for good.)"""
    server = make_server(
        PARLEY_MAX_PENDING_FRAMES="20",
        PARLEY_SEND_TIMEOUT="600",
        PARLEY_MAX_MESSAGE_CHARS="60000",
    ).start()
    token = server.add_staff("Ann", "agent")
    async with contextlib.AsyncExitStack() as stack:
        watcher = await stack.enter_async_context(agent(server, server.add_staff("Bo", "agent")))
        if who == "agent":
            busy: Client = await stack.enter_async_context(visitor(server))
            conversation_id = await busy.accept()  # type: ignore[attr-defined]
            s = await stack.enter_async_context(stalled_agent(server, token))
            await join(s.client, conversation_id)
            welcome = next(f for f in s.client.seen if f["type"] == "welcome")
            stalled_ids = (welcome["agent"]["id"], None)
        else:
            s = await stack.enter_async_context(stalled(server, "/ws/visitor"))
            stalled_visitor = Visitor(s.client.ws)
            await stalled_visitor.hello()
            conversation_id = await stalled_visitor.accept()
            stalled_ids = (None, stalled_visitor.visitor_id)
            busy = await stack.enter_async_context(agent(server, token))
            await join(busy, conversation_id)
        # The second agent watches without taking part: it observes (only one agent holds it).
        await watcher.send({"type": "observe", "conversation_id": conversation_id})
        await watcher.expect("caught_up")
        s.stop_reading()
        # The kernel takes a few MB before a send to the stalled client gets stuck.
        for sent in range(500):
            if "fell 20 frames behind" in await log_of(server):
                break
            await say(busy, conversation_id, f"busy-{sent}")
            assert (await watcher.expect("event"))["event"]["client_id"] == f"busy-{sent}"
        await s.wait_released()
        await say(busy, conversation_id, "after")
        assert (await watcher.expect("event"))["event"]["client_id"] == "after"
    # The line is the stalled connection's, not that of whoever sent what it could not take.
    (line,) = [json.loads(x) for x in (await log_of(server)).splitlines() if "fell 20" in x]
    assert (line.get("staff_id"), line.get("visitor_id")) == stalled_ids


async def say(c: Client, conversation_id: str, client_id: str, text: str = BIG) -> None:
    """A message from the visitor, or reply from the agent; wait for its ack."""
    if isinstance(c, Visitor):
        await c.send({"type": "message", "client_id": client_id, "text": text})
    else:
        await c.send(
            {"type": "reply", "conversation_id": conversation_id, "client_id": client_id,
             "text": text}
        )  # fmt: skip
    await c.expect("ack")


async def test_a_client_that_answers_no_keepalive_ping_is_closed_with_1013_not_1011(
    make_server: Callable[..., Server],
) -> None:
    """PARLEY_PING_INTERVAL=1: a client that stops reading answers no ping; it is closed with
    1013 (1011 is only for the server's own faults), which it reads once it reads again."""
    server = make_server(PARLEY_PING_INTERVAL="1").start()
    async with stalled(server, "/ws/visitor") as s:
        await Visitor(s.client.ws).hello()
        s.stop_reading()
        await asyncio.sleep(4)  # a ping after 1 s, unanswered 1 s later
        s.client.ws.transport.resume_reading()
        with pytest.raises(ConnectionClosed):
            while True:
                await s.client.recv()
        assert s.client.ws.close_code == 1013
    async with visitor(server) as v:
        await v.accept()


async def test_a_stalled_client_only_the_keepalive_notices_is_reset_and_released(
    make_server: Callable[..., Server],
) -> None:
    """With a send timeout too long to matter, the keepalive notices a stalled agent whose
    buffers are full: its close frame cannot be written, so it is reset and released. (uvicorn
    only asked the transport to close, which waits to flush buffers that never drain.)"""
    server = make_server(
        PARLEY_PING_INTERVAL="1", PARLEY_SEND_TIMEOUT="600", PARLEY_MAX_MESSAGE_CHARS="60000"
    ).start()
    token = server.add_staff("Ann", "agent")
    async with visitor(server) as v:
        conversation_id = await v.accept()
        for i in range(5):
            await v.say(BIG, f"big-{i}")
        async with stalled_agent(server, token) as s:
            s.stop_reading()
            for _ in range(100):
                await s.client.send({"type": "join", "conversation_id": conversation_id})
            await s.wait_released()
        # 7 and 8: the first join claimed the conversation (assigned) and joined it.
        assert (await v.say("still served", "after"))["seq"] == 9


async def fill(s: Stalled, busy: Client, conversation_id: str, text: str = BIG) -> None:
    """Have ``busy`` write ``text`` until the kernel holds all it will for the stalled ``s``.

    The server's own buffer for ``s`` then holds what the kernel did not take of the last
    message: with 60 KB messages it goes over its 64 KiB mark, and no frame can be written
    to ``s`` any more.
    """
    most = 0
    for sent in range(1000):
        await say(busy, conversation_id, f"fill-{sent}", text)
        await asyncio.sleep(0.1)  # the event reaches the stalled client after the ack
        queued = s.server_end_queued()
        if queued <= most:
            await say(busy, conversation_id, "one-more", text)
            return
        most = queued
    raise AssertionError("the kernel kept taking frames for the stalled client")


@pytest.fixture
def patient(make_server: Callable[..., Server]) -> Server:
    """A server whose send timeout, keepalive and queue limit are too long to act in a test."""
    return make_server(
        PARLEY_SEND_TIMEOUT="600",
        PARLEY_PING_INTERVAL="600",
        PARLEY_MAX_PENDING_FRAMES="100000",
        PARLEY_MAX_MESSAGE_CHARS="60000",
    ).start()


async def test_a_stalled_client_that_sends_an_oversized_frame_is_reset_and_released(
    patient: Server,
) -> None:
    """A stalled agent whose buffers are full sends a frame over the limit: the server closes it
    with 1009, and since that close cannot be written, resets it. (uvicorn only asked the
    transport to close, which waits to flush buffers that never drain.)"""
    token = patient.add_staff("Ann", "agent")
    async with visitor(patient) as v:
        conversation_id = await v.accept()
        async with stalled_agent(patient, token) as s:
            await join(s.client, conversation_id)
            s.stop_reading()
            await fill(s, v, conversation_id)
            await s.client.send("q" * 70_000)
            await s.wait_released()
        await say(v, conversation_id, "after")


async def test_a_stalled_client_does_not_keep_the_server_from_stopping(patient: Server) -> None:
    """SIGTERM with a stalled agent connected: the server says 1012, cannot write it, resets the
    connection and exits. (uvicorn waited for that connection to flush for ever.)"""
    token = patient.add_staff("Ann", "agent")
    assert patient.proc is not None
    async with visitor(patient) as v:
        conversation_id = await v.accept()
        async with stalled_agent(patient, token) as s:
            await join(s.client, conversation_id)
            s.stop_reading()
            await fill(s, v, conversation_id)
            patient.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(patient.proc.wait, 60)
            await s.wait_released()
    assert "Finished server process" in await log_of(patient)


async def test_a_stalled_client_that_takes_the_close_frame_but_not_the_rest_is_reset(
    patient: Server,
) -> None:
    """A stalled agent whose kernel buffers are full, but not the server's own, sends a binary
    frame: the close (1003) is written after what waits, which never drains; the connection is
    reset and released. (uvicorn only asked the transport to close, which waits for ever.)"""
    token = patient.add_staff("Ann", "agent")
    async with visitor(patient) as v:
        conversation_id = await v.accept()
        async with stalled_agent(patient, token) as s:
            await join(s.client, conversation_id)
            s.stop_reading()
            await fill(s, v, conversation_id, "y" * 16_000)
            await s.client.send(b"binary")
            await s.wait_released()
        await say(v, conversation_id, "after")


async def test_presence_frames_are_dropped_for_a_stalled_client_never_a_reason_to_close(
    make_server: Callable[..., Server],
) -> None:
    """Ephemeral frames (presence) never cost a connection: a stalled visitor whose send is
    stuck is pushed 30 team changes with PARLEY_MAX_PENDING_FRAMES=20; they are dropped, not
    a reason for 1013, and once it reads again it gets every event and its answers."""
    server = make_server(
        PARLEY_MAX_PENDING_FRAMES="20",
        PARLEY_SEND_TIMEOUT="600",
        PARLEY_MAX_MESSAGE_CHARS="60000",
    ).start()
    token = server.add_staff("Ann", "agent")
    async with stalled(server, "/ws/visitor") as s, agent(server, token, presence=True) as a:
        v = Visitor(s.client.ws)
        await v.hello(presence=True)
        conversation_id = await v.accept()
        await join(a, conversation_id)
        s.stop_reading()
        # Events until the server's end of the socket has held all it can for three more
        # (more than the transport buffers too): a send to the visitor is stuck.
        queued, same, sent = -1, 0, 0
        while same < 3:
            await say(a, conversation_id, f"big-{sent}")
            sent += 1
            now = s.server_end_queued()
            same = same + 1 if now and now == queued else 0
            queued = now
        for i in range(30):
            state = "away" if i % 2 == 0 else "available"
            await a.send({"type": "presence", "state": state})
            # The round that tells the console tells the visitor too: no two changes merge.
            while (await a.expect("staff_presence"))["team"] != state:
                pass
        assert "frames behind" not in await log_of(server)
        s.client.ws.transport.resume_reading()
        while (await v.expect("event", timeout=30))["event"]["client_id"] != f"big-{sent - 1}":
            pass
        told = [f["event"]["client_id"] for f in v.seen if f["type"] == "event"]
        assert told[-sent:] == [f"big-{i}" for i in range(sent)], "every event, in order"
        await v.barrier()
