"""Every Prometheus metric Parley exposes, and the small helpers the rest of the code calls.

Each process keeps its own series in its own :data:`REGISTRY` (no multiprocess
mode): Prometheus scrapes every process and tells them apart by its ``instance``
label, and :data:`BUILD` names the process itself. Labels are bounded: roles,
frame types, error codes, store operations, policy and clause ids (a policy has
few clauses) — never a conversation, visitor or staff id.

The hot path pays a dictionary lookup and a lock-guarded addition per frame;
what costs more (counting conversations, un-anchored heads, queued frames) is
computed when /metrics is scraped (:func:`refresh`, gauges read by function).
"""

from __future__ import annotations

import inspect
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from parley import __version__

# A ``_created`` series per counter and histogram child would double the page for nothing
# Prometheus needs (it notices resets by itself).
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

#: Seconds, from a millisecond to ten seconds: an acknowledgement or a relay is expected
#: within a few milliseconds, and anything past a second is an incident.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Store commands: from a tenth of a millisecond (a Redis read) up.
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

BUILD = Info(
    "parley_build",
    "The Parley version this process runs, and the process (host:pid); always 1.",
    registry=REGISTRY,
)
CONNECTIONS = Gauge(
    "parley_connections", "WebSockets open now, by role (visitor, agent).", ["role"],
    registry=REGISTRY,
)  # fmt: skip
FRAMES_RECEIVED = Counter(
    "parley_frames_received",
    "WebSocket frames received, by role and frame type (invalid: not a frame of the protocol).",
    ["role", "type"],
    registry=REGISTRY,
)
FRAMES_SENT = Counter(
    "parley_frames_sent", "WebSocket frames sent, by role and frame type.", ["role", "type"],
    registry=REGISTRY,
)  # fmt: skip
ERRORS = Counter(
    "parley_errors",
    "Errors answered, by transport (websocket: error frames; http: error responses) and code.",
    ["transport", "code"],
    registry=REGISTRY,
)
ACK_LATENCY = Histogram(
    "parley_ack_latency_seconds",
    "From a visitor's message frame received to its ack sent (the message committed).",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
RELAY_LATENCY = Histogram(
    "parley_relay_latency_seconds",
    "From a visitor's message event's recorded time to its frame sent to an agent's socket.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
STORE_LATENCY = Histogram(
    "parley_store_command_seconds",
    "Store commands (methods of the Store interface), by backend and operation.",
    ["backend", "operation"],
    buckets=STORE_BUCKETS,
    registry=REGISTRY,
)
QUEUED_FRAMES = Gauge(
    "parley_outbound_queued_frames",
    "Frames waiting to be sent, summed over every socket of this process.",
    registry=REGISTRY,
)
QUEUE_MAX = Gauge(
    "parley_outbound_queue_max_frames",
    "Frames waiting on the socket with the longest queue (max_pending_frames closes it).",
    registry=REGISTRY,
)
CONVERSATIONS = Gauge(
    "parley_conversations",
    "Conversations by state: open; waiting (open, the visitor's last message unanswered);"
    " unassigned (open, in the queue); closed (for a violation, ever). Deployment-wide.",
    ["state"],
    registry=REGISTRY,
)
CLOSURES = Counter(
    "parley_closures",
    "Conversations closed for a violation by this process, by policy and clause cited.",
    ["policy_id", "clause"],
    registry=REGISTRY,
)
BARS = Counter("parley_bars", "Bars placed with a closure by this process.", registry=REGISTRY)
RATE_LIMITED = Counter(
    "parley_rate_limited",
    "Refusals by the flood limits, by kind (message; conversation: new ones per address).",
    ["kind"],
    registry=REGISTRY,
)
REDIS_RECONNECTS = Counter(
    "parley_redis_reconnects",
    "Times the Redis bus lost a link past the client's own retries (it then reconnects),"
    " by link (pubsub, streams).",
    ["link"],
    registry=REGISTRY,
)
MOVED_HEADS = Gauge(
    "parley_anchoring_moved_heads",
    "Conversations whose head moved since it was last anchored in the signed log.",
    registry=REGISTRY,
)
LAST_ANCHORING = Gauge(
    "parley_anchoring_last_round_timestamp_seconds",
    "When this process last finished an anchoring round (Unix time; 0: not yet).",
    registry=REGISTRY,
)


def started() -> None:
    """Name this process in :data:`BUILD` (called once the server is up)."""
    BUILD.info({"version": __version__, "process": f"{socket.gethostname()}:{os.getpid()}"})


def frame_received(role: str, frame_type: str) -> None:
    _child(FRAMES_RECEIVED, role, frame_type).inc()


def frame_sent(role: str, frame_type: str) -> None:
    _child(FRAMES_SENT, role, frame_type).inc()


def error(transport: str, code: str) -> None:
    _child(ERRORS, transport, code).inc()


def rate_limited(kind: str) -> None:
    _child(RATE_LIMITED, kind).inc()


def redis_reconnect(link: str) -> None:
    _child(REDIS_RECONNECTS, link).inc()


def closed(policy_id: str, clause: str, barred: bool) -> None:
    """A closure for a violation committed; ``barred`` when it placed a bar."""
    _child(CLOSURES, policy_id, clause).inc()
    if barred:
        BARS.inc()


def relayed(event_at: str) -> None:
    """A visitor's message event (recorded at ``event_at``, RFC 3339) reached an agent."""
    RELAY_LATENCY.observe(max(0.0, time.time() - datetime.fromisoformat(event_at).timestamp()))


def anchored() -> None:
    LAST_ANCHORING.set(time.time())


_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Counter, *labels: str) -> Any:
    """The labelled child, kept: ``labels()`` validates and locks on every call."""
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


class Queue(Protocol):
    """What the outbound-queue gauges read of a socket."""

    @property
    def queued(self) -> int: ...


#: The sockets open in this process; read only when /metrics is scraped.
SOCKETS: set[Queue] = set()
QUEUED_FRAMES.set_function(lambda: sum(s.queued for s in SOCKETS))
QUEUE_MAX.set_function(lambda: max((s.queued for s in SOCKETS), default=0))


def counted(conversations: dict[str, int], closed_ever: int, moved_heads: int) -> None:
    """Set the gauges read from the lobby and the store just before a scrape."""
    for state, n in {**conversations, "closed": closed_ever}.items():
        CONVERSATIONS.labels(state).set(n)
    MOVED_HEADS.set(moved_heads)


def exposition() -> tuple[bytes, str]:
    """This process's series in the text exposition format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


S = TypeVar("S")
#: Store methods not timed: they run for the life of the store, or end it.
UNTIMED = frozenset({"close", "maintain"})


def timed_store(store: S, backend: str, interface: type) -> S:
    """``store`` with each coroutine method of ``interface`` timed into :data:`STORE_LATENCY`."""
    for name, _ in inspect.getmembers(interface, inspect.iscoroutinefunction):
        if name.startswith("_") or name in UNTIMED:
            continue
        setattr(store, name, _timed(getattr(store, name), STORE_LATENCY.labels(backend, name)))
    return store


def _timed(method: Callable[..., Awaitable[Any]], child: Any) -> Callable[..., Awaitable[Any]]:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            child.observe(time.perf_counter() - start)

    return timed
