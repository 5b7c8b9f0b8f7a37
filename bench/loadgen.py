"""The load generator: many real WebSocket clients, speaking Parley's protocol or plain echo.

Every scenario has a Parley form and an echo form driven by the same code, so
the echo figures from the same run are the ceiling the Parley figures are
compared with. Latencies are measured from the moment a message was *due*, not
when it was sent, so a server that falls behind cannot hide it (no coordinated
omission). Clocks are ``time.monotonic``, which is system-wide on Linux.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

T = TypeVar("T")

# Like a browser: no client pings (the server's keepalive pings are answered). Compression is
# offered only where a scenario asks for it (Parley would decline it anyway).
CLIENT_OPTIONS: dict[str, Any] = {
    "open_timeout": 60,
    "ping_interval": None,
    "compression": None,
    "max_queue": None,
}
_ids = itertools.count()


class Connection(ClientConnection):
    """A client connection that counts the server's keepalive pings it answered."""

    pings = 0

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            Connection.pings += 1
        super().process_event(event)


async def dial(url: str, deflate: bool = False) -> ClientConnection:
    """Open a client connection; ``deflate`` offers permessage-deflate as browsers do."""
    options = {**CLIENT_OPTIONS, "compression": "deflate"} if deflate else CLIENT_OPTIONS
    return await connect(url, create_connection=Connection, **options)


def stamp(due: float) -> str:
    """A message text carrying the time it was due, so the receiver can compute latency."""
    return f"bench message due at {due:.9f}"


def due_of(text: str) -> float:
    return float(text.rsplit(" ", 1)[1])


def percentile(samples: Sequence[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(samples, 50) * 1000,
        "p99_ms": percentile(samples, 99) * 1000,
        "p999_ms": percentile(samples, 99.9) * 1000,
        "max_ms": max(samples, default=float("nan")) * 1000,
    }


async def gather_limited(makers: Sequence[Callable[[], Awaitable[T]]], concurrency: int) -> list[T]:
    """Run the coroutines ``makers`` produce, at most ``concurrency`` at a time; keep order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(make: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await make()

    return list(await asyncio.gather(*(one(m) for m in makers)))


class Refused(RuntimeError):
    """The server answered a benchmark frame with an error: the run is invalid."""


@dataclass
class Visitor:
    """A visitor with an open conversation, the event seqs it has seen and its acked messages."""

    ws: ClientConnection
    token: str
    conversation_id: str
    seqs: list[int] = field(default_factory=list)
    acked: int = 0

    @classmethod
    async def start(cls, url: str) -> Visitor:
        """connect → hello → welcome + policy → accept → accepted → caught_up."""
        ws = await dial(url)
        await ws.send('{"type":"hello"}')
        visitor = cls(ws, token="", conversation_id="")
        visitor.token = (await visitor.read_until("welcome"))["token"]
        offer = await visitor.read_until("policy")
        accept = {k: offer[k] for k in ("policy_id", "version", "sha256")}
        await ws.send(json.dumps({"type": "accept", **accept}))
        visitor.conversation_id = (await visitor.read_until("accepted"))["conversation"]["id"]
        await visitor.read_until("caught_up")
        return visitor

    async def resume(self, url: str) -> dict[str, Any]:
        """Reconnect with the token and the last seq seen; read until ``caught_up``."""
        self.ws = await dial(url)
        last = max(self.seqs, default=0)
        resume = {"conversation_id": self.conversation_id, "last_seq": last}
        await self.ws.send(json.dumps({"type": "hello", "token": self.token, "resume": resume}))
        return await self.read_until("caught_up")

    async def read_until(self, *types: str) -> dict[str, Any]:
        """Read frames, noting event seqs, until one of ``types``."""
        while True:
            frame: dict[str, Any] = json.loads(await self.ws.recv())
            kind = frame["type"]
            if kind == "event":
                self.seqs.append(frame["event"]["seq"])
            elif kind in types:
                return frame
            elif kind == "error":
                raise Refused(frame)

    async def say(self, text: str) -> None:
        """Send one message and wait for its durable ack."""
        frame = {"type": "message", "client_id": f"m{next(_ids)}", "text": text}
        await self.ws.send(json.dumps(frame))
        await self.read_until("ack")
        self.acked += 1


#: How every ``conversation_updates`` frame starts (compact JSON, ``type`` first).
LIST_UPDATES = '{"type":"conversation_updates"'


class Agent:
    """An agent console joined to some conversations; calls ``on_message`` per visitor message.

    Conversation-list updates (sent for every change anywhere) are counted and
    skipped by prefix without parsing, as a console that only redraws its list
    would. ``list_updates`` is the hello's option (``"delta"``); None leaves it
    out, so the server's default applies, which servers predating it understand.
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.on_message: Callable[[str, str, float], None] = lambda conv, text, now: None
        self._answers: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: Characters of the list updates received (bytes, for these ASCII frames).
        self.list_chars = 0
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, url: str, token: str, list_updates: str | None = None) -> Agent:
        ws = await dial(url)
        hello = {"type": "hello", "token": token}
        await ws.send(json.dumps(hello | ({"list_updates": list_updates} if list_updates else {})))
        agent = cls(ws)
        await agent._answer("welcome")
        await agent._answer("conversations")
        return agent

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                assert isinstance(raw, str)
                if raw.startswith('{"type":"event"'):
                    event = json.loads(raw)["event"]
                    if event["type"] == "message" and event["author"]["role"] == "visitor":
                        self.on_message(
                            event["conversation_id"], event["data"]["text"], time.monotonic()
                        )
                elif raw.startswith(LIST_UPDATES):
                    self.list_chars += len(raw)
                else:
                    self._answers.put_nowait(json.loads(raw))

    async def _answer(self, *types: str) -> dict[str, Any]:
        while True:
            answer = await self._answers.get()
            if answer["type"] in types:
                return answer
            if answer["type"] == "error":
                raise Refused(answer)

    async def join(self, conversation_id: str) -> None:
        await self.ws.send(json.dumps({"type": "join", "conversation_id": conversation_id}))
        await self._answer("caught_up")

    async def reply(self, conversation_id: str, text: str) -> None:
        frame = {"type": "reply", "conversation_id": conversation_id, "text": text}
        await self.ws.send(json.dumps({**frame, "client_id": f"r{next(_ids)}"}))
        await self._answer("ack")

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


@dataclass
class Target:
    """Where the load goes: Parley (visitor and agent endpoints) or an echo server."""

    kind: str  # "parley" or "echo"
    bases: Sequence[str]  # ws://host:port, one per server process
    agent_tokens: Sequence[str] = ()
    deflate: bool = False  # clients offer permessage-deflate (idle scenario, echo only)

    @property
    def parley(self) -> bool:
        return self.kind == "parley"

    def visitor_url(self, i: int) -> str:
        base = self.bases[i % len(self.bases)]
        return f"{base}/ws/visitor" if self.parley else base

    def agent_url(self, i: int) -> str:
        # With two processes, agent i sits on the process its visitors are not on,
        # so every relay crosses the bus between processes.
        return f"{self.bases[(i + 1) % len(self.bases)]}/ws/agent"


class Relays:
    """N visitor → agent relays: N conversations shared among the agents.

    For echo, relay i is one connection whose echo stands in for the agent's copy.
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.visitors: list[Visitor] = []
        self.echoes: list[ClientConnection] = []
        self.agents: list[Agent] = []
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.latencies: list[tuple[float, float]] = []  # (due, latency)
        self._expected: int | None = None
        self._drained = asyncio.Event()

    async def drain(self, within: float) -> None:
        """Wait until every message sent so far has arrived, or ``within`` seconds pass."""
        self._expected = self.sent
        self._check_drained()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), within)

    def _check_drained(self) -> None:
        if self._expected is not None and len(self.latencies) >= self._expected:
            self._drained.set()

    async def open(
        self,
        n: int,
        concurrency: int = 50,
        consoles: int | None = None,
        list_updates: str | None = None,
    ) -> None:
        """Open ``n`` relays and the consoles: one per agent token unless ``consoles`` says
        how many (sharing the tokens in turn); console i joins conversations i, i + consoles…"""
        t = self.target
        if not t.parley:
            self.echoes = await gather_limited([lambda: dial(t.bases[0])] * n, concurrency)
            return
        starts = [lambda i=i: Visitor.start(t.visitor_url(i)) for i in range(n)]
        self.visitors = await gather_limited(starts, concurrency)
        tokens = t.agent_tokens
        agents = [
            lambda i=i: Agent.start(t.agent_url(i), tokens[i % len(tokens)], list_updates)
            for i in range(consoles or len(tokens))
        ]
        self.agents = await gather_limited(agents, concurrency)
        for agent in self.agents:
            agent.on_message = self._arrived
        # Visitor i lands on process i % P and its agent on the other one (see Target.agent_url).
        joins = [
            lambda i=i, v=v: self.agents[i % len(self.agents)].join(v.conversation_id)
            for i, v in enumerate(self.visitors)
        ]
        await gather_limited(joins, concurrency)

    def _arrived(self, conversation_id: str, text: str, now: float) -> None:
        due = due_of(text)
        self.latencies.append((due, now - due))
        self._check_drained()
        waiter = self.waiting.pop(conversation_id, None)
        if waiter and not waiter.done():
            waiter.set_result(None)

    async def send(self, i: int, due: float, wait_for_agent: bool) -> None:
        """Relay ``i`` sends one message; wait for the ack (Parley) or the echo."""
        text = stamp(due)
        if not self.target.parley:
            ws = self.echoes[i]
            await ws.send(text)
            await ws.recv()
            self.latencies.append((due, time.monotonic() - due))
            return
        v = self.visitors[i]
        if wait_for_agent:
            arrived = self.waiting[v.conversation_id] = asyncio.get_running_loop().create_future()
            await v.say(text)
            await arrived
        else:
            await v.say(text)

    @property
    def sent(self) -> int:
        return sum(v.acked for v in self.visitors) if self.target.parley else len(self.latencies)

    async def close(self) -> None:
        conns = [v.ws for v in self.visitors] + self.echoes
        await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
        await asyncio.gather(*(a.close() for a in self.agents), return_exceptions=True)


async def throughput(target: Target, relays: int, seconds: float, warmup: float) -> dict[str, Any]:
    """Closed loop: each relay sends its next message as soon as the agent has the last one."""
    r = Relays(target)
    await r.open(relays)
    stop = asyncio.Event()

    async def loop(i: int) -> None:
        while not stop.is_set():
            await r.send(i, time.monotonic(), wait_for_agent=True)

    tasks = [asyncio.create_task(loop(i)) for i in range(relays)]
    await asyncio.sleep(warmup)
    before, started = len(r.latencies), time.monotonic()
    await asyncio.sleep(seconds)
    done, elapsed = len(r.latencies) - before, time.monotonic() - started
    stop.set()
    await asyncio.gather(*tasks)
    await r.close()
    return {"relays": relays, "messages": done, "seconds": elapsed, "per_second": done / elapsed}


async def latency(
    target: Target,
    conversations: int,
    rate: float,
    seconds: float,
    warmup: float,
    consoles: int | None = None,
    list_updates: str | None = None,
    cpu: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Open loop: each conversation sends ``rate`` messages/s from a random phase.

    A Parley visitor waits for each ack before its next message, as the widget
    does; latency runs from the time a message was due to the agent's copy.
    ``consoles`` and ``list_updates`` are as for :meth:`Relays.open`. Over the
    measured seconds it counts the messages acknowledged (echoed), the list
    updates all consoles received and, given ``cpu`` (the server's CPU seconds so
    far), what the server spent per message: a figure that, unlike latency, does
    not depend on how much of a shared machine the server was given.
    """
    r = Relays(target)
    await r.open(conversations, consoles=consoles, list_updates=list_updates)
    start = time.monotonic() + 1.0
    measure_from, end = start + warmup, start + warmup + seconds

    async def tally_at(moment: float) -> tuple[int, int, float]:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        return sum(a.list_chars for a in r.agents), r.sent, cpu() if cpu else 0.0

    window = asyncio.gather(tally_at(measure_from), tally_at(end))

    async def loop(i: int) -> None:
        due = start + random.random() / rate
        while due < end:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await r.send(i, due, wait_for_agent=False)
            due += 1 / rate

    await asyncio.gather(*(loop(i) for i in range(conversations)))
    (chars_from, sent_from, cpu_from), (chars_to, sent_to, cpu_to) = await window
    acked = sent_to - sent_from
    await r.drain(within=10)  # the last messages on their way to the agents
    sent, received = r.sent, len(r.latencies)
    await r.close()
    measured = [lat for due, lat in r.latencies if due >= measure_from]
    return {
        "conversations": conversations,
        "rate_per_conversation": rate,
        "seconds": seconds,
        "consoles": len(r.agents),
        "list_updates": list_updates or "default",
        "acked_per_second": acked / seconds,
        "list_bytes_per_second": (chars_to - chars_from) / seconds,
        "list_bytes_per_message": (chars_to - chars_from) / max(acked, 1),
        **(
            {"server_cpu_ms_per_message": (cpu_to - cpu_from) * 1000 / max(acked, 1)} if cpu else {}
        ),
        "samples": len(measured),
        "sent": sent,
        "lost": sent - received,
        **summary_ms(measured),
    }


async def gate(target: Target, concurrency: int, seconds: float) -> dict[str, Any]:
    """New conversations, back to back from ``concurrency`` clients.

    Parley: connect → hello → policy → accept → caught_up → first message acked → close.
    Echo: connect → three round trips → close (the same number of exchanges).
    """
    times: list[float] = []
    end = time.monotonic() + seconds

    async def once() -> None:
        if target.parley:
            v = await Visitor.start(target.visitor_url(0))
            await v.say("Hello, I need help with my order.")
            await v.ws.close()
            return
        ws = await dial(target.bases[0])
        for _ in range(3):
            await ws.send("x" * 64)
            await ws.recv()
        await ws.close()

    async def loop() -> None:
        while (began := time.monotonic()) < end:
            await once()
            times.append(time.monotonic() - began)

    started = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    return {
        "concurrency": concurrency,
        "conversations": len(times),
        "seconds": elapsed,
        "per_second": len(times) / elapsed,
        **summary_ms(times),
    }


async def idle(
    target: Target, connections: int, hold: float, rss: Callable[[], int]
) -> dict[str, Any]:
    """Open ``connections`` and hold them idle while keepalive pings run; RSS per connection.

    Parley connections are visitors with an open conversation (hello + accept);
    echo connections have made one round trip. At the end every connection must
    still answer a ping frame of the protocol (Parley ``ping``, or an echo).
    """
    before = rss()
    Connection.pings = 0
    if target.parley:
        starts = [lambda i=i: Visitor.start(target.visitor_url(i)) for i in range(connections)]
        visitors = await gather_limited(starts, 100)
        conns = [v.ws for v in visitors]
    else:
        opens = [functools.partial(dial, target.bases[0], target.deflate)] * connections
        conns = await gather_limited(opens, 100)
    opened = rss()
    await asyncio.sleep(hold)
    held = rss()

    async def alive(ws: ClientConnection) -> bool:
        probe = '{"type":"ping"}'
        await ws.send(probe)
        while True:
            answer = await ws.recv()
            if answer == probe or answer == '{"type":"pong"}':
                return True

    answered = await gather_limited([functools.partial(alive, ws) for ws in conns], 500)
    await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)
    return {
        "connections": connections,
        "alive_after_hold": sum(answered),
        "hold_seconds": hold,
        "keepalive_pings_answered": Connection.pings,
        "rss_before_kib": before // 1024,
        "rss_held_kib": held // 1024,
        "kib_per_connection": (held - before) / 1024 / connections,
        "kib_per_connection_at_open": (opened - before) / 1024 / connections,
    }


async def resume(
    target: Target, clients: int, restart: Callable[[], Awaitable[None]]
) -> dict[str, Any]:
    """``clients`` reconnect at once after the server is killed (-9) and started again.

    Parley: each visitor has two acked messages, goes offline, an agent answers
    every conversation, the server is killed and restarted, and every visitor
    reconnects with ``resume``. Caught up means its events are exactly 1..last
    with nothing missing or repeated, the agent's answer among them.
    Echo: reconnect and make one round trip.
    """
    if target.parley:
        visitors = await gather_limited(
            [lambda: Visitor.start(target.visitor_url(0))] * clients, 50
        )
        for _ in range(2):
            says = [functools.partial(v.say, "Where is my parcel?") for v in visitors]
            await gather_limited(says, 200)
        await asyncio.gather(*(v.ws.close() for v in visitors))
        agent = await Agent.start(target.agent_url(-1), target.agent_tokens[0])
        for v in visitors:
            await agent.join(v.conversation_id)
            await agent.reply(v.conversation_id, "It is on its way.")
        await agent.close()
        events_per_visitor = 6  # acceptance, 2 messages, assigned, agent_joined, the answer
    else:
        echoes = await gather_limited([lambda: dial(target.bases[0])] * clients, 50)
        await asyncio.gather(*(ws.close() for ws in echoes))

    await restart()
    started = time.monotonic()

    async def back(i: int) -> bool:
        if target.parley:
            v = visitors[i]
            caught_up = await v.resume(target.visitor_url(0))
            whole = sorted(v.seqs) == list(range(1, events_per_visitor + 1))
            await v.ws.close()
            return whole and caught_up["last_seq"] == events_per_visitor
        ws = await dial(target.bases[0])
        await ws.send("back")
        ok = await ws.recv() == "back"
        await ws.close()
        return ok

    # All at once, as after an outage: no client waits for another.
    whole = await asyncio.gather(*(back(i) for i in range(clients)))
    elapsed = time.monotonic() - started
    return {
        "clients": clients,
        "caught_up_seconds": elapsed,
        "complete": sum(whole),
        "lost_or_repeated": clients - sum(whole),
    }
