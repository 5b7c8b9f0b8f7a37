"""The HTTP API's shape through the real server: errors are JSON with stable codes."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from harness import Server


def test_unknown_paths_and_methods_answer_json_errors(server: Server) -> None:
    missing = httpx.get(f"{server.http}/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = httpx.post(f"{server.http}/api/policy")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    not_a_version = httpx.get(
        f"{server.http}/api/compliance/policies/conduct/versions/two/conversations"
    )
    assert not_a_version.status_code == 404
    assert not_a_version.json()["error"]["code"] == "not_found"


def test_policy_in_force_is_public(server: Server) -> None:
    body = httpx.get(f"{server.http}/api/policy").json()
    assert (body["policy_id"], body["version"]) == ("conduct", 2)
    assert len(body["sha256"]) == 64 and body["text"].startswith(body["title"])


async def test_websockets_only_open_on_the_two_endpoints(server: Server) -> None:
    """The visitor and agent paths accept WebSockets; any other path refuses the upgrade."""
    for path in ("/ws/visitor", "/ws/agent"):
        async with connect(f"{server.ws}{path}") as ws:
            await ws.send('{"type":"ping"}')
            assert json.loads(await ws.recv()) == {"type": "pong"}
    for path in ("/ws/visitors", "/ws", "/api/policy", "/ws/visitor/"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{server.ws}{path}"):
                pass
        assert refused.value.response.status_code == 403, path
