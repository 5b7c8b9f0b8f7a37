"""Flooding through the real server: per-visitor message limits, per-address conversation limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness import Server, agent, conversation_record, visitor


@pytest.fixture
def strict(make_server: Callable[..., Server]) -> Server:
    return make_server(
        PARLEY_MESSAGES_PER_MINUTE="3",
        PARLEY_CONVERSATIONS_PER_HOUR="2",
        PARLEY_TRUSTED_PROXIES="127.0.0.1",
    ).start()


async def test_excess_messages_are_refused_with_retry_after_store_nothing_and_flag_agents(
    strict: Server,
) -> None:
    token = strict.add_staff("Alice Agent", "agent")
    compliance = strict.add_staff("Carol", "compliance")
    async with agent(strict, token) as a, visitor(strict) as v:
        conversation_id = await v.accept()
        for i in range(3):
            await v.say(f"message {i}", f"m{i}")
        await v.send({"type": "message", "client_id": "m3", "text": "one too many"})
        error = await v.expect("error")
        assert error["code"] == "rate_limited" and error["client_id"] == "m3"
        assert 0 < error["retry_after"] <= 20
        while conversation_id not in (await a.expect("conversation_updates"))["flooding"]:
            pass
    stored = (await conversation_record(strict, compliance, conversation_id))["transcript"]
    assert [e["data"]["text"] for e in stored if e["type"] == "message"] == [
        "message 0",
        "message 1",
        "message 2",
    ]


async def test_one_address_cannot_open_conversation_after_conversation(strict: Server) -> None:
    """Per-address limit on new conversations; another address is not affected."""
    for _ in range(2):
        async with visitor(strict) as v:
            await v.accept()
    async with visitor(strict) as v:
        offer = await v.expect("policy")
        await v.send(
            {"type": "accept", "policy_id": offer["policy_id"], "version": offer["version"],
             "sha256": offer["sha256"]}
        )  # fmt: skip
        error = await v.expect("error")
        assert error["code"] == "rate_limited" and error["retry_after"] > 0
    elsewhere = {"X-Forwarded-For": "203.0.113.50"}
    async with visitor(strict, headers=elsewhere) as other:
        assert await other.accept()
