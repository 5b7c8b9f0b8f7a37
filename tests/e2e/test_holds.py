"""Legal holds through the real server, on both stores: HTTP and CLI, audit, bundle, consoles."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import Client, RedisServer, Server, agent, api, merge, two_processes, visitor
from parley.evidence.verify import verify


@pytest.fixture(params=["sqlite", "redis"])
def server_on(
    request: pytest.FixtureRequest, make_server: Callable[..., Server], tmp_path: Path
) -> Iterator[Server]:
    if request.param == "sqlite":
        yield make_server().start()
        return
    redis = RedisServer(tmp_path / "redis").start()
    try:
        yield make_server(PARLEY_STORE=redis.url).start()
    finally:
        redis.stop()


class ListView:
    """A console's copy of the open list, kept as docs/protocol.md §6.3 says, and its items."""

    def __init__(self, console: Client, delta: bool) -> None:
        self.console, self.delta = console, delta
        [listed] = [f for f in console.seen if f["type"] == "conversations"]
        self.open: dict[str, dict[str, Any]] = {c["id"]: c for c in listed["items"]}
        self.items: list[dict[str, Any]] = []

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not done():
                for item in (await self.console.expect("conversation_updates"))["items"]:
                    self.items.append(item)
                    if self.delta:
                        merge(self.open, item)
                    else:
                        self.open[item["id"]] = item

    def about(self, conversation_id: str) -> list[dict[str, Any]]:
        return [item for item in self.items if item["id"] == conversation_id]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(answer: httpx.Response, status: int, code: str) -> None:
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text


async def test_holds_are_placed_listed_and_lifted_over_http_each_audited(
    server_on: Server,
) -> None:
    s = server_on
    clara, dana = s.add_staff("Clara", "compliance"), s.add_staff("Dana", "admin")
    async with visitor(s) as v:
        conversation_id = await v.accept()
        visitor_id = v.visitor_id
    async with httpx.AsyncClient(base_url=s.http, headers=bearer(clara)) as http:
        placed = await http.post(
            "/api/compliance/holds",
            json={"scope": "conversation", "target_id": conversation_id, "reason": "Case 118"},
        )
        assert placed.status_code == 200, placed.text
        on_conversation = placed.json()["hold"]
        assert (on_conversation["target"], on_conversation["placed_by"]["name"]) == (
            conversation_id, "Clara"
        )  # fmt: skip
        on_visitor = (
            await http.post(
                "/api/compliance/holds",
                json={"scope": "visitor", "target_id": visitor_id, "reason": "Subpoena 7"},
                headers=bearer(dana),
            )
        ).json()["hold"]
        first = (await http.get("/api/compliance/holds?limit=1")).json()
        second = await http.get(f"/api/compliance/holds?limit=1&cursor={first['next_cursor']}")
        assert [h["id"] for h in first["items"] + second.json()["items"]] == [
            on_conversation["id"], on_visitor["id"]
        ]  # fmt: skip
        lifted = await http.post(
            f"/api/compliance/holds/{on_conversation['id']}/lift", json={"reason": "Settled"}
        )
        assert lifted.status_code == 200, lifted.text
        assert (lifted.json()["hold"]["lift_reason"], lifted.json()["hold"]["lifted_by"]["id"]) == (
            "Settled", on_conversation["placed_by"]["id"]
        )  # fmt: skip
        active = (await http.get("/api/compliance/holds")).json()["items"]
        assert [h["id"] for h in active] == [on_visitor["id"]]
        everything = (await http.get("/api/compliance/holds?active=false")).json()["items"]
        assert [h["lifted_at"] is None for h in everything] == [False, True], "lifting keeps it"
        audit = (await http.get(f"/api/compliance/audit?conversation_id={conversation_id}")).json()
        thread = [(e["action"], e["details"]) for e in audit["items"]]
        hold_id = on_conversation["id"]
        assert thread[-2:] == [
            ("hold_placed", {"hold_id": hold_id, "scope": "conversation",
                             "target": conversation_id, "reason": "Case 118"}),
            ("hold_lifted", {"hold_id": hold_id, "scope": "conversation",
                             "target": conversation_id, "reason": "Settled"}),
        ]  # fmt: skip
        trail = (await http.get("/api/compliance/audit?limit=500")).json()["items"]
        [visitor_entry] = [e for e in trail if e["details"].get("hold_id") == on_visitor["id"]]
        assert (visitor_entry["conversation_id"], visitor_entry["actor"]["name"]) == (None, "Dana")


async def test_bad_hold_requests_get_typed_errors_and_change_nothing(server_on: Server) -> None:
    s = server_on
    clara, agent_token = s.add_staff("Clara", "compliance"), s.add_staff("Alice", "agent")
    async with visitor(s) as v:
        conversation_id = await v.accept()
    async with httpx.AsyncClient(base_url=s.http, headers=bearer(clara)) as http:
        hold = (
            await http.post(
                "/api/compliance/holds",
                json={"scope": "conversation", "target_id": conversation_id, "reason": "Case"},
            )
        ).json()["hold"]
        await http.post(f"/api/compliance/holds/{hold['id']}/lift", json={"reason": "Done"})
        before = {
            "holds": (await http.get("/api/compliance/holds?active=false")).json(),
            "audit": (await http.get("/api/compliance/audit?limit=500")).json(),
        }

        def place(**body: Any) -> Any:
            return http.post("/api/compliance/holds", json=body)

        refused(await place(scope="conversation", target_id="c_nobody", reason="x"), 404,
                "not_found")  # fmt: skip
        refused(await place(scope="visitor", target_id="v_nobody", reason="x"), 404,
                "visitor_not_found")  # fmt: skip
        refused(await place(scope="conversation", target_id=conversation_id, reason="   "), 422,
                "invalid_hold_reason")  # fmt: skip
        refused(await place(scope="conversation", target_id=conversation_id), 400, "bad_request")
        refused(await place(scope="room", target_id=conversation_id, reason="x"), 400,
                "bad_request")  # fmt: skip
        refused(await place(scope="conversation", target_id=conversation_id, reason="x" * 501),
                400, "bad_request")  # fmt: skip
        refused(await http.post("/api/compliance/holds", content=b"{nope"), 400, "bad_json")
        refused(await http.post("/api/compliance/holds/h_nobody/lift", json={"reason": "x"}),
                404, "hold_not_found")  # fmt: skip
        refused(await http.post(f"/api/compliance/holds/{hold['id']}/lift", json={"reason": "x"}),
                409, "hold_already_lifted")  # fmt: skip
        refused(await http.post(f"/api/compliance/holds/{hold['id']}/lift", json={}), 400,
                "bad_request")  # fmt: skip
        refused(await http.get("/api/compliance/holds?active=maybe"), 400, "bad_request")
        refused(await http.get("/api/compliance/holds", headers=bearer(agent_token)), 403,
                "forbidden")  # fmt: skip
        refused(await api(s, "/api/compliance/holds"), 401, "unauthorized")
        after = {
            "holds": (await http.get("/api/compliance/holds?active=false")).json(),
            "audit": (await http.get("/api/compliance/audit?limit=500")).json(),
        }
        assert after == before


async def test_the_cli_places_lists_and_lifts_holds_as_the_operator(server_on: Server) -> None:
    s = server_on
    clara = s.add_staff("Clara", "compliance")
    async with visitor(s) as v:
        conversation_id = await v.accept()
        visitor_id = v.visitor_id
    placed = s.cli("holds", "place", "--conversation", conversation_id, "--reason", "Case 9")
    assert placed.returncode == 0, placed.stderr
    hold_id = placed.stdout.split()[1]
    assert s.cli("holds", "place", "--visitor", visitor_id, "--reason", "Case 10").returncode == 0
    listed = s.cli("holds", "list").stdout
    assert hold_id in listed and f"visitor {visitor_id}" in listed and "in force" in listed
    lifted = s.cli("holds", "lift", hold_id, "--reason", "Released")
    assert lifted.returncode == 0 and "Released" in lifted.stdout, lifted.stderr
    assert hold_id not in s.cli("holds", "list").stdout
    assert f"{hold_id}  lifted" in s.cli("holds", "list", "--all").stdout
    again = s.cli("holds", "lift", hold_id, "--reason", "Again")
    assert again.returncode == 1 and "hold_already_lifted" in again.stderr
    nobody = s.cli("holds", "place", "--visitor", "v_nobody", "--reason", "x")
    assert nobody.returncode == 1 and "visitor_not_found" in nobody.stderr
    blank = s.cli("holds", "place", "--conversation", conversation_id, "--reason", " ")
    assert blank.returncode == 1 and "invalid_hold_reason" in blank.stderr
    both = s.cli("holds", "place", "--conversation", conversation_id, "--visitor", visitor_id,
                 "--reason", "x")  # fmt: skip
    assert both.returncode == 2, "one of --conversation and --visitor, not both"
    async with httpx.AsyncClient(base_url=s.http, headers=bearer(clara)) as http:
        trail = (await http.get("/api/compliance/audit?limit=500")).json()["items"]
    held = [(e["action"], e["actor"]["id"]) for e in trail if "hold_id" in e["details"]]
    assert held == [("hold_placed", "operator"), ("hold_placed", "operator"),
                    ("hold_lifted", "operator")]  # fmt: skip


async def test_a_bundle_carries_the_holds_in_force_on_its_conversation(
    server_on: Server,
) -> None:
    s = server_on
    clara = s.add_staff("Clara", "compliance")
    async with visitor(s) as v:
        conversation_id = await v.accept()
        visitor_id = v.visitor_id
    async with httpx.AsyncClient(base_url=s.http, headers=bearer(clara)) as http:
        evidence = f"/api/compliance/conversations/{conversation_id}/evidence"
        assert (await http.get(evidence)).json()["holds"] == []
        ids = []
        for scope, target in (("conversation", conversation_id), ("visitor", visitor_id)):
            body = {"scope": scope, "target_id": target, "reason": f"on the {scope}"}
            ids.append((await http.post("/api/compliance/holds", json=body)).json()["hold"]["id"])
        await http.post(f"/api/compliance/holds/{ids[0]}/lift", json={"reason": "done"})
        bundle = (await http.get(evidence)).json()
        assert [(h["id"], h["reason"]) for h in bundle["holds"]] == [(ids[1], "on the visitor")]
        assert verify(bundle).ok
        page = (await http.get(f"{evidence}?format=html")).text
        assert "8. Legal holds" in page and "on the visitor" in page


async def test_consoles_see_held_conversations_flagged_as_holds_come_and_go(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    async with (
        agent(server, agent_token, list_updates="delta") as d,
        agent(server, agent_token, list_updates="full") as f,
        visitor(server) as v,
        httpx.AsyncClient(base_url=server.http, headers=bearer(compliance_token)) as http,
    ):
        deltas, whole = ListView(d, delta=True), ListView(f, delta=False)
        conversation_id = await v.accept()
        await deltas.until(lambda: conversation_id in deltas.open)
        assert "held" not in deltas.open[conversation_id], "never held: no flag"
        body = {"scope": "visitor", "target_id": v.visitor_id, "reason": "Case 5"}
        hold = (await http.post("/api/compliance/holds", json=body)).json()["hold"]
        await deltas.until(lambda: deltas.open[conversation_id].get("held") is True)
        assert deltas.about(conversation_id)[-1] == {"id": conversation_id, "held": True}
        await whole.until(lambda: whole.open.get(conversation_id, {}).get("held") is True)
        await d.send({"type": "join", "conversation_id": conversation_id})
        assert (await d.expect("joined"))["conversation"]["held"] is True
        await d.send({"type": "list"})
        listed = await d.expect("conversations")
        assert [c["held"] for c in listed["items"] if c["id"] == conversation_id] == [True]
        await http.post(f"/api/compliance/holds/{hold['id']}/lift", json={"reason": "Closed"})
        await deltas.until(lambda: deltas.open[conversation_id].get("held") is False)
        # The lift's delta may carry the join's changes too (deltas about one row coalesce).
        assert deltas.about(conversation_id)[-1]["held"] is False


async def test_a_hold_placed_on_one_process_flags_consoles_on_another(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path
) -> None:
    a, b = two_processes(make_server, redis_server, tmp_path)
    token, clara = a.add_staff("Alice", "agent"), a.add_staff("Clara", "compliance")
    async with agent(a, token, list_updates="delta") as console, visitor(a) as v:
        deltas = ListView(console, delta=True)
        conversation_id = await v.accept()
        await deltas.until(lambda: conversation_id in deltas.open)
        async with httpx.AsyncClient(base_url=b.http, headers=bearer(clara)) as http:
            body = {"scope": "conversation", "target_id": conversation_id, "reason": "Case 6"}
            assert (await http.post("/api/compliance/holds", json=body)).status_code == 200
        await deltas.until(lambda: deltas.open[conversation_id].get("held") is True)
