"""/metrics on a real server: who may read it, and the figures moving as the chat goes on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from harness import REPO, Client, RedisServer, Server, agent, api, free_port, two_processes, visitor

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parsed(text: str) -> Series:
    """Every sample of an exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(server: Server, token: str) -> Series:
    response = await api(server, "/metrics", token)
    assert response.status_code == 200, response.text
    return parsed(response.text)


async def announced(
    console: Client, conversation_id: str, holds: Callable[[dict[str, Any]], bool]
) -> None:
    """Wait until ``console`` was sent an update of the conversation for which ``holds``: the
    process's list of open conversations (what parley_conversations reads) is then current."""

    def told(frame: dict[str, Any]) -> bool:
        items = frame["items"] if frame["type"] == "conversation_updates" else []
        return any(i["id"] == conversation_id and holds(i) for i in items)

    while not any(told(frame) for frame in console.seen):
        await console.expect("conversation_updates")


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


def moved(before: Series, after: Series, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_metrics_answer_only_an_admin_token(
    server: Server, admin_token: str, agent_token: str
) -> None:
    """Metrics: never public: no token 401, an agent's 403 (typed errors), an admin's 200."""
    refused = await api(server, "/metrics")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert refused.headers["www-authenticate"] == "Bearer"
    forbidden = await api(server, "/metrics", agent_token)
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    shown = await api(server, "/metrics", admin_token)
    assert shown.status_code == 200
    assert shown.headers["content-type"] == CONTENT_TYPE_LATEST
    (build,) = [k for k in parsed(shown.text) if k[0] == "parley_build_info"]
    assert dict(build[1])["version"] == "0.1.0"
    odd = await api(server, "/metrics?format=json", admin_token)
    assert odd.status_code == 400 and odd.json()["error"]["code"] == "bad_request"


async def test_the_figures_move_as_visitors_and_agents_chat(
    make_server: Callable[..., Server],
) -> None:
    """Metrics: connections, frames in and out, errors by code, ack and relay latency, store
    latency, conversations by state, closures by clause, bars and rate-limit refusals move."""
    s = make_server(PARLEY_MESSAGES_PER_MINUTE="3").start()
    admin, token = s.add_staff("Dan Admin", "admin"), s.add_staff("Alice Agent", "agent")
    before = await scrape(s, admin)
    async with visitor(s) as v, agent(s, token) as a:
        conversation_id = await v.accept()
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        await announced(a, conversation_id, lambda item: item.get("state", "open") == "open")
        during = await scrape(s, admin)
        assert moved(before, during, "parley_connections", role="visitor") == 1
        assert moved(before, during, "parley_connections", role="agent") == 1
        assert value(during, "parley_conversations", state="open") == 1
        for n in range(1, 4):
            await v.say(f"hello {n}", f"m{n}")
            while (await a.expect("event"))["event"]["type"] != "message":
                pass
        await v.send({"type": "message", "client_id": "m4", "text": "one too many"})
        assert (await v.expect("error"))["code"] == "rate_limited"
        await v.send({"type": "shout"})
        assert (await v.expect("error"))["code"] == "unknown_type"
        await announced(a, conversation_id, lambda item: bool(item.get("waiting_since")))
        assert value(await scrape(s, admin), "parley_conversations", state="waiting") == 1
        await a.send(
            {"type": "close", "conversation_id": conversation_id, "clause_id": "1.2",
             "bar": {"hours": 1}}
        )  # fmt: skip
        await a.expect("done")
        await announced(a, conversation_id, lambda item: item.get("state") == "closed")
    assert (await api(s, "/api/no-such-thing")).status_code == 404
    after = await scrape(s, admin)
    assert moved(before, after, "parley_connections", role="visitor") == 0, "closed: back down"
    assert moved(before, after, "parley_frames_received_total", role="visitor", type="message") == 4
    assert moved(before, after, "parley_frames_received_total", role="visitor", type="invalid") == 1
    assert moved(before, after, "parley_frames_received_total", role="agent", type="close") == 1
    assert moved(before, after, "parley_frames_sent_total", role="visitor", type="ack") >= 3
    assert moved(before, after, "parley_frames_sent_total", role="agent", type="event") >= 4
    assert moved(before, after, "parley_errors_total", transport="websocket", code="rate_limited")
    assert moved(before, after, "parley_errors_total", transport="websocket", code="unknown_type")
    assert moved(before, after, "parley_errors_total", transport="http", code="not_found") == 1
    assert moved(before, after, "parley_errors_total", transport="http", code="unauthorized") == 0
    assert moved(before, after, "parley_rate_limited_total", kind="message") == 1
    assert moved(before, after, "parley_ack_latency_seconds_count") == 3
    assert moved(before, after, "parley_relay_latency_seconds_count") == 3
    assert moved(before, after, "parley_closures_total", policy_id="conduct", clause="1.2") == 1
    assert moved(before, after, "parley_bars_total") == 1
    assert value(after, "parley_conversations", state="open") == 0
    assert value(after, "parley_conversations", state="closed") == 1
    applied = ("parley_store_command_seconds_count", {"backend": "sqlite", "operation": "apply"})
    assert moved(before, after, applied[0], **applied[1]) >= 5
    assert value(after, "parley_outbound_queued_frames") == 0


async def test_the_metrics_address_serves_metrics_without_a_token_and_nothing_else(
    make_server: Callable[..., Server],
) -> None:
    """Metrics: PARLEY_METRICS_ADDRESS serves /metrics without a token; every other path there
    is 404 and no WebSocket opens; the main port still wants an admin token."""
    port = free_port()
    s = make_server(PARLEY_METRICS_ADDRESS=f"127.0.0.1:{port}").start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        shown = await http.get("/metrics")
        assert shown.status_code == 200 and "parley_build_info" in shown.text
        for path in ("/healthz", "/api/policy", "/", "/console/", "/metrics/"):
            other = await http.get(path)
            assert other.status_code == 404, path
            assert other.json()["error"]["code"] == "not_found"
        assert (await http.post("/metrics")).status_code == 405
    with pytest.raises(InvalidStatus):
        async with connect(f"ws://127.0.0.1:{port}/ws/visitor", open_timeout=10):
            pass
    assert (await api(s, "/metrics")).status_code == 401
    assert (await api(s, "/healthz")).status_code == 200


def test_a_bad_metrics_address_stops_the_start(make_server: Callable[..., Server]) -> None:
    """Metrics: a metrics address that is malformed, is the server's own port, or is taken
    stops `parley serve` with a clear error (exit 2), not a traceback or a silent 404."""
    s = make_server(PARLEY_METRICS_ADDRESS="127.0.0.1:9100x")
    result = s.cli("serve", "--port", str(s.port))
    assert result.returncode == 2, result.stderr
    assert "PARLEY_METRICS_ADDRESS='127.0.0.1:9100x': must be HOST:PORT" in result.stderr
    s = make_server(PARLEY_WIDGET_DIR=str(REPO / "widget"))
    own = s.cli("serve", "--port", str(s.port), "--metrics-address", f"127.0.0.1:{s.port}")
    assert own.returncode == 2 and "is the server's own port" in own.stderr, own.stderr
    with socket.create_server(("127.0.0.1", 0)) as taken:
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        busy = s.cli("serve", "--port", str(s.port), "--metrics-address", address)
    assert busy.returncode == 2, busy.stderr
    assert f"PARLEY_METRICS_ADDRESS {address}: Address already in use" in busy.stderr
    for answer in (result, own, busy):
        assert "Traceback" not in answer.stderr


async def test_each_process_exposes_its_own_series_on_redis(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path
) -> None:
    """Metrics across processes: each names itself in parley_build_info, counts its own
    sockets and store commands (backend redis), the relay to an agent on another process is
    timed where the agent is, and the conversation counts are the deployment's."""
    a, b = two_processes(make_server, redis_server, tmp_path)
    admin, token = a.add_staff("Dan Admin", "admin"), a.add_staff("Alice Agent", "agent")
    before_a, before_b = await scrape(a, admin), await scrape(b, admin)
    builds = [dict(k[1]) for s in (before_a, before_b) for k in s if k[0] == "parley_build_info"]
    assert len(builds) == 2 and builds[0]["process"] != builds[1]["process"]
    async with visitor(a) as v, agent(b, token) as console:
        conversation_id = await v.accept()
        await console.send({"type": "join", "conversation_id": conversation_id})
        await console.expect("caught_up")
        await v.say("hello from A", "m1")
        while (await console.expect("event"))["event"]["type"] != "message":
            pass
        await announced(console, conversation_id, lambda item: bool(item.get("waiting_since")))
        after_a, after_b = await scrape(a, admin), await scrape(b, admin)
    assert moved(before_a, after_a, "parley_connections", role="visitor") == 1
    assert moved(before_b, after_b, "parley_connections", role="visitor") == 0
    assert moved(before_b, after_b, "parley_connections", role="agent") == 1
    assert moved(before_a, after_a, "parley_ack_latency_seconds_count") == 1
    assert moved(before_b, after_b, "parley_relay_latency_seconds_count") == 1
    assert moved(before_a, after_a, "parley_relay_latency_seconds_count") == 0
    applied = {"backend": "redis", "operation": "apply"}
    assert moved(before_a, after_a, "parley_store_command_seconds_count", **applied) >= 1
    # Deployment-wide: B's list holds the conversation started on A.
    assert value(after_b, "parley_conversations", state="waiting") == 1


async def test_redis_reconnects_are_counted(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    """Metrics: the bus losing its Redis link (beyond the client's own quick retries) shows in
    parley_redis_reconnects, and the server goes on serving once Redis is back."""
    redis = RedisServer(tmp_path / "redis").start()
    try:
        s = make_server(PARLEY_STORE=redis.url).start()
        admin = s.add_staff("Dan Admin", "admin")
        before = await scrape(s, admin)
        redis.stop()
        for _ in range(600):
            if "lost the Redis bus" in await asyncio.to_thread(s.log.read_text):
                break
            await asyncio.sleep(0.05)
        redis.start()
        after = await scrape(s, admin)
        assert moved(before, after, "parley_redis_reconnects_total", link="pubsub") >= 1
    finally:
        redis.stop()
