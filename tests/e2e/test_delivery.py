"""Invariant 6 through the real server: durable acks, idempotent resends, resume with no gap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness import Server, agent, conversation_record, visitor


async def transcript(server: Server, token: str, conversation_id: str) -> list[dict[str, Any]]:
    record = await conversation_record(server, token, conversation_id)
    events: list[dict[str, Any]] = record["transcript"]
    return events


def texts(events: list[dict[str, Any]]) -> list[str]:
    return [e["data"]["text"] for e in events if e["type"] == "message"]


async def test_resend_with_same_client_id_gets_same_ack_and_is_stored_once(
    server: Server, compliance_token: str
) -> None:
    """Invariant 6: a retry — also after a reconnect — never duplicates a message."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        first = await v.say("my order is late", "msg-1")
        again = await v.say("my order is late", "msg-1")
        assert again == first
    async with visitor(server, token=v.token) as v2:
        after_reconnect = await v2.say("my order is late", "msg-1")
        assert after_reconnect == first
        await v2.say("order 1234", "msg-2")
    assert texts(await transcript(server, compliance_token, conversation_id)) == [
        "my order is late",
        "order 1234",
    ]


async def test_messages_reach_agents_in_order_with_sequence_numbers(
    server: Server, agent_token: str, second_agent_token: str
) -> None:
    """Every agent watching the conversation — its assignee and an observer — sees each
    message once, in seq order."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a, agent(server, second_agent_token) as b:
            for watcher, kind in ((a, "join"), (b, "observe")):
                await watcher.send({"type": kind, "conversation_id": conversation_id})
                await watcher.events_until_caught_up()
            for i in range(20):
                await v.send({"type": "message", "client_id": f"c{i}", "text": f"line {i}"})
            for watcher in (a, b):
                seen: list[dict[str, Any]] = []
                while len([e for e in seen if e["type"] == "message"]) < 20:
                    seen.append((await watcher.expect("event"))["event"])
                seqs = [e["seq"] for e in seen]
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "gap or reorder"
                assert texts(seen) == [f"line {i}" for i in range(20)]


async def test_reconnect_with_last_seq_receives_exactly_what_was_missed(
    server: Server, agent_token: str
) -> None:
    """Invariant 6: resume from the last seq seen: everything after it, in order, no duplicate."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        await v.say("hello", "v1")
        last_seen = (await v.expect("event"))["event"]["seq"]
    async with agent(server, agent_token) as a:
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.events_until_caught_up()
        for i in range(5):
            await a.send(
                {
                    "type": "reply",
                    "conversation_id": conversation_id,
                    "client_id": f"r{i}",
                    "text": f"answer {i}",
                }
            )
            await a.expect("ack")
    resume = {"conversation_id": conversation_id, "last_seq": last_seen}
    async with visitor(server, token=v.token, resume=resume) as again:
        missed = await again.events_until_caught_up()
        assert [e["seq"] for e in missed] == list(range(last_seen + 1, last_seen + 8))
        assert [e["type"] for e in missed[:2]] == ["assigned", "agent_joined"]
        assert texts(missed) == [f"answer {i}" for i in range(5)]
        assert await again.barrier() == [], "nothing more, nothing twice"
    async with visitor(server, token=v.token) as from_scratch:
        everything = await from_scratch.events_until_caught_up()
        assert [e["seq"] for e in everything] == list(range(1, last_seen + 8))


async def test_visitor_sees_agent_replies_live(server: Server, agent_token: str) -> None:
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            await a.send({"type": "join", "conversation_id": conversation_id})
            await a.events_until_caught_up()
            await a.send(
                {
                    "type": "reply",
                    "conversation_id": conversation_id,
                    "client_id": "r",
                    "text": "Hi, I am Alice.",
                }
            )
            claimed = (await v.expect("event"))["event"]
            joined = (await v.expect("event"))["event"]
            reply = (await v.expect("event"))["event"]
    assert claimed["type"] == "assigned" and claimed["data"]["agent"]["name"] == "Alice Agent"
    assert joined["type"] == "agent_joined" and joined["author"]["name"] == "Alice Agent"
    assert reply["data"]["text"] == "Hi, I am Alice." and reply["author"]["role"] == "agent"


async def test_acknowledged_messages_survive_kill_9(
    make_server: Callable[..., Server], tmp_path: Any
) -> None:
    """Invariant 6: an ack means committed; SIGKILL right after loses nothing acked."""
    s = make_server().start()
    compliance = s.add_staff("Carol", "compliance")
    async with visitor(s) as v:
        conversation_id = await v.accept()
        acks = [await v.say(f"message {i}", f"k{i}") for i in range(25)]
        s.kill()
    s.start()
    stored = await transcript(s, compliance, conversation_id)
    assert texts(stored) == [f"message {i}" for i in range(25)]
    assert [e["seq"] for e in stored if e["type"] == "message"] == [a["seq"] for a in acks]
    resume = {"conversation_id": conversation_id, "last_seq": acks[-1]["seq"]}
    async with visitor(s, token=v.token, resume=resume) as back:
        assert await back.events_until_caught_up() == []
        assert (await back.say("still here", "k-after"))["seq"] == acks[-1]["seq"] + 1


async def test_a_last_seq_beyond_the_end_still_receives_later_events(
    server: Server, agent_token: str
) -> None:
    """A client claiming more than exists is taken to the end: nothing later is lost."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        async with agent(server, agent_token) as a:
            await a.send({"type": "join", "conversation_id": conversation_id, "last_seq": 100})
            await a.events_until_caught_up()
            await v.say("are you there?", "late")
            event = (await a.expect("event"))["event"]
    assert event["data"]["text"] == "are you there?"


async def test_resending_an_acked_message_after_the_end_gets_the_original_ack(
    server: Server, agent_token: str
) -> None:
    """Invariant 6: a retry is answered by its ack even once the conversation has ended."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        first = await v.say("last words", "final")
        async with agent(server, agent_token) as a:
            await a.send({"type": "join", "conversation_id": conversation_id})
            await a.events_until_caught_up()
            await a.send({"type": "resolve", "conversation_id": conversation_id})
            await a.expect("done")
        await v.expect("policy")
        assert await v.say("last words", "final") == first


async def test_a_second_tab_follows_a_conversation_started_in_the_first(server: Server) -> None:
    """Two connections of one visitor: accepting in one moves the other to the new conversation."""
    async with visitor(server) as tab_a, visitor(server, token=tab_a.token) as tab_b:
        await tab_b.expect("policy")
        conversation_id = await tab_a.accept()
        moved = await tab_b.expect("accepted")
        assert moved["conversation"]["id"] == conversation_id
        await tab_b.events_until_caught_up()
        ack = await tab_b.say("typed in the second tab", "tab-b")
        assert ack["conversation_id"] == conversation_id
        echoed = (await tab_a.expect("event"))["event"]
        assert echoed["data"]["text"] == "typed in the second tab"
