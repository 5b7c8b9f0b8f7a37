"""Faults on the server's side, through a real server on a real Redis: no internals to clients.

A client is told a fixed, documented text and an ``error_id``; the detail (a
driver's message, which names the Redis host and port) goes to the server log
under that id, where an operator finds it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness import RedisServer, Server, agent, api, visitor
from parley.protocol.errors import FAULT_MESSAGES


@pytest.fixture
def redis_db(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, so it may be killed."""
    r = RedisServer(tmp_path / "redis").start()
    yield r
    r.stop()


async def test_unavailable_tells_clients_a_fixed_text_and_an_error_id_the_log_has_with_detail(
    make_server: Callable[..., Server], redis_db: RedisServer
) -> None:
    """With Redis down, a visitor's and an agent's `unavailable` frames hold neither the Redis
    address nor the driver's text, only the documented message and an error id; the server log
    has that id next to the detail."""
    server = make_server(PARLEY_STORE=redis_db.url).start()
    token = server.add_staff("Ann", "agent")
    async with visitor(server) as v, agent(server, token) as a:
        conversation_id = await v.accept()
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        redis_db.stop(signal.SIGKILL)
        await v.send({"type": "message", "client_id": "m1", "text": "is anyone there?"})
        await a.send(
            {"type": "reply", "conversation_id": conversation_id, "client_id": "r1", "text": "yes"}
        )
        errors = [await v.expect("error", timeout=30), await a.expect("error", timeout=30)]
    assert [(e["code"], e["client_id"]) for e in errors] == [
        ("unavailable", "m1"),
        ("unavailable", "r1"),
    ]
    log = await asyncio.to_thread(server.log.read_text)
    for error in errors:
        assert error["message"] == FAULT_MESSAGES["unavailable"]
        assert str(redis_db.port) not in str(error) and "127.0.0.1" not in str(error), error
        assert "Redis" not in str(error) and "connect" not in str(error).lower(), error
        logged = [line for line in log.splitlines() if error["error_id"] in line]
        assert len(logged) == 1, error["error_id"]
        assert "Redis" in logged[0], logged[0]
    assert errors[0]["error_id"] != errors[1]["error_id"]


async def test_an_http_request_with_the_store_down_gets_a_fixed_503_and_an_error_id(
    make_server: Callable[..., Server], redis_db: RedisServer
) -> None:
    """The compliance API answers `unavailable` as the sockets do: the documented text and an
    error id, never the driver's message with the Redis address; the log has the detail."""
    server = make_server(PARLEY_STORE=redis_db.url).start()
    token = server.add_staff("Carol", "compliance")
    redis_db.stop(signal.SIGKILL)
    answer = await api(server, "/api/compliance/acceptances", token)
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "unavailable"
    assert error["message"] == FAULT_MESSAGES["unavailable"]
    assert str(redis_db.port) not in answer.text and "Redis" not in answer.text, answer.text
    log = await asyncio.to_thread(server.log.read_text)
    logged = [line for line in log.splitlines() if error["error_id"] in line]
    assert len(logged) == 1 and "/api/compliance/acceptances" in logged[0], logged
    assert "Redis" in log.split(error["error_id"], 1)[1], "the detail is logged under the id"
