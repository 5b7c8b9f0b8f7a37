"""The HTTP API's shape through the real server: errors are JSON with stable codes."""

from __future__ import annotations

import httpx

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
