"""Bars through the real server, on both stores: by visitor, by address, by network; lifted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import Client, RedisServer, Server, agent, api, visitor


@pytest.fixture(params=["sqlite", "redis"])
def server_on(
    request: pytest.FixtureRequest, make_server: Callable[..., Server], tmp_path: Path
) -> Iterator[Server]:
    """A server trusting 127.0.0.1 as a proxy (so tests can speak from other addresses)."""
    env = {"PARLEY_TRUSTED_PROXIES": "127.0.0.1"}
    if request.param == "sqlite":
        yield make_server(**env).start()
        return
    redis = RedisServer(tmp_path / "redis").start()
    try:
        yield make_server(PARLEY_STORE=redis.url, **env).start()
    finally:
        redis.stop()


def at(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def close_and_bar(a: Client, conversation_id: str, bar: dict[str, Any]) -> None:
    await a.send({"type": "join", "conversation_id": conversation_id})
    await a.expect("caught_up")
    await a.send(
        {"type": "close", "conversation_id": conversation_id, "clause_id": "1.2", "bar": bar}
    )
    await a.expect("done")


async def test_a_barred_visitor_is_told_why_and_until_when_and_cannot_start_again(
    server_on: Server,
) -> None:
    s = server_on
    token = s.add_staff("Alice Agent", "agent")
    async with visitor(s, headers=at("198.51.100.7")) as v:
        conversation_id = await v.accept()
        async with agent(s, token) as a:
            await close_and_bar(a, conversation_id, {"hours": 24})
        while (closed := (await v.expect("event"))["event"])["type"] != "closed":
            pass
        assert closed["data"]["bar"]["until"]
        barred = await v.expect("barred")
        assert barred["clause"]["id"] == "1.2" and barred["until"] == closed["data"]["bar"]["until"]
        assert "1.2" in barred["message"] and conversation_id in barred["message"]
        assert barred["reference"] == conversation_id, "the closure to quote when contesting"
        await v.send({"type": "accept", "policy_id": "conduct", "version": 2, "sha256": "0" * 64})
        error = await v.expect("error")
        assert error["code"] == "barred" and error["until"] == barred["until"]
        assert error["reference"] == conversation_id
    async with visitor(s, headers=at("198.51.100.7"), token=v.token) as again:
        assert (await again.expect_any("barred", "policy"))["type"] == "barred"
    async with visitor(s, headers=at("198.51.100.7")) as stranger_same_address:
        offer = await stranger_same_address.expect_any("barred", "policy")
        assert offer["type"] == "policy", "a bar by visitor id never blocks another visitor"


async def test_an_address_bar_survives_clearing_storage_and_spares_other_addresses(
    server_on: Server,
) -> None:
    s = server_on
    token = s.add_staff("Alice Agent", "agent")
    async with visitor(s, headers=at("203.0.113.9")) as v:
        conversation_id = await v.accept()
        async with agent(s, token) as a:
            await close_and_bar(a, conversation_id, {"hours": None, "ip": True})
        await v.expect("barred")
    async with visitor(s, headers=at("203.0.113.9")) as fresh:
        barred = await fresh.expect_any("barred", "policy")
        assert barred["type"] == "barred" and barred["until"] is None, "permanent, by address"
    async with visitor(s, headers=at("203.0.113.10")) as neighbour:
        assert (await neighbour.expect_any("barred", "policy"))["type"] == "policy"


async def test_a_network_bar_covers_the_block_and_an_admin_can_lift_it(server_on: Server) -> None:
    s = server_on
    token, admin = s.add_staff("Alice Agent", "agent"), s.add_staff("Dan Admin", "admin")
    compliance = s.add_staff("Carol", "compliance")
    async with visitor(s, headers=at("192.0.2.77")) as v:
        conversation_id = await v.accept()
        async with agent(s, token) as a:
            await close_and_bar(a, conversation_id, {"hours": 48, "network": "192.0.2.0/24"})
    async with visitor(s, headers=at("192.0.2.200")) as same_block:
        assert (await same_block.expect_any("barred", "policy"))["type"] == "barred"
    headers = {"Authorization": f"Bearer {admin}"}
    async with httpx.AsyncClient(base_url=s.http, headers=headers) as http:
        listed = (await http.get("/api/admin/bans")).json()["items"]
        assert [b["network"] for b in listed] == ["192.0.2.0/24"]
        ban_id = listed[0]["id"]
        assert (await http.post(f"/api/admin/bans/{ban_id}/lift", json={})).status_code == 400
        lifted = await http.post(f"/api/admin/bans/{ban_id}/lift", json={"reason": "appeal upheld"})
        assert lifted.json()["ban"]["lifted_at"]
        assert (await http.get("/api/admin/bans")).json()["items"] == []
        assert len((await http.get("/api/admin/bans?all=true")).json()["items"]) == 1
        missing = await http.post("/api/admin/bans/b_nope/lift", json={"reason": "x"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "ban_not_found"
        agent_may_not = await http.get(
            "/api/admin/bans", headers={"Authorization": f"Bearer {token}"}
        )
        assert agent_may_not.status_code == 403
    async with visitor(s, headers=at("192.0.2.200")) as welcome_back:
        assert await welcome_back.accept()
    audit = await api(s, f"/api/compliance/audit?conversation_id={conversation_id}", compliance)
    actions = [(e["action"], e["details"]) for e in audit.json()["items"]]
    assert ("closed", {"seq": 4, "clause_id": "1.2", "ban_id": ban_id}) in actions
    assert ("ban_lifted", {"ban_id": ban_id, "reason": "appeal upheld"}) in actions
    assert "lifted" in s.cli("bans", "list", "--all").stdout


async def test_a_bad_network_is_refused_and_closes_nothing(server_on: Server) -> None:
    s = server_on
    token = s.add_staff("Alice Agent", "agent")
    async with visitor(s) as v:
        conversation_id = await v.accept()
        async with agent(s, token) as a:
            await a.send({"type": "join", "conversation_id": conversation_id})
            await a.expect("caught_up")
            await a.send(
                {"type": "close", "conversation_id": conversation_id, "clause_id": "1.2",
                 "bar": {"hours": 1, "network": "not-a-network"}}
            )  # fmt: skip
            assert (await a.expect("error"))["code"] == "invalid_frame"
        assert (await v.say("still open", "s"))["conversation_id"] == conversation_id
