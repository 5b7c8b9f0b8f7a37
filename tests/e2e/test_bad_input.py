"""Invariant 7 through the real server: bad input changes nothing.

Every malformed frame gets a typed error frame with a stable code; the
connection stays usable; nothing reaches the transcript (read back through the
compliance API); other clients keep being served. Protocol abuse (binary or
oversize frames) gets the right WebSocket close code instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from harness import Client, Server, Visitor, agent, assert_clean, client, summary, visitor

MAX_CHARS = 4000  # the default PARLEY_MAX_MESSAGE_CHARS


# ---------------------------------------------------------------- helpers


async def get(url: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers=headers)


async def transcript(server: Server, token: str, conversation_id: str) -> list[dict[str, Any]]:
    """The stored events of a conversation, read through the compliance HTTP API."""
    r = await get(f"{server.http}/api/compliance/conversations/{conversation_id}", token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["chain"]["intact"], body["chain"]
    events: list[dict[str, Any]] = body["transcript"]
    return events


async def next_frame(c: Client) -> dict[str, Any]:
    """The next frame, skipping the agent's live list updates."""
    while (frame := await c.recv())["type"] == "conversation_updates":
        pass
    return frame


async def assert_alive(c: Client) -> None:
    """The connection still answers, and nothing but list updates came before the pong."""
    assert [f for f in await c.barrier() if f["type"] != "conversation_updates"] == []


async def closed_with(c: Client) -> int | None:
    """Read until the server closes the connection; return the close code (no frames allowed)."""
    with pytest.raises(ConnectionClosed):
        while True:
            frame = await c.recv()
            assert frame["type"] == "conversation_updates", (
                f"unexpected frame before close: {frame}"
            )
    return c.ws.close_code


# ---------------------------------------------------------------- bad frames

Frame = Callable[[str], str]  # conversation id -> raw text frame


def raw(text: str) -> Frame:
    return lambda _conversation_id: text


def obj(**fields: Any) -> Frame:
    return lambda conversation_id: json.dumps(
        {
            k: (v.format(conv=conversation_id) if isinstance(v, str) else v)
            for k, v in fields.items()
        }
    )


COMMON_BAD: list[Any] = [
    pytest.param(raw("this is not json"), "bad_json", id="not-json"),
    pytest.param(raw('{"type": "ping"'), "bad_json", id="truncated-json"),
    pytest.param(raw(""), "bad_json", id="empty-text-frame"),
    pytest.param(raw('["ping"]'), "bad_json", id="json-array"),
    pytest.param(raw("42"), "bad_json", id="json-number"),
    pytest.param(raw('"ping"'), "bad_json", id="json-string"),
    pytest.param(raw("null"), "bad_json", id="json-null"),
    pytest.param(raw("true"), "bad_json", id="json-bool"),
    pytest.param(raw('{"type": "shout"}'), "unknown_type", id="unknown-type"),
    pytest.param(raw('{"type": 5}'), "unknown_type", id="non-string-type"),
    pytest.param(raw('{"type": null}'), "unknown_type", id="null-type"),
]

#: Nesting a 2 KB frame 1000 levels deep (beyond Python's recursion limit when it is walked).
DEEP = "[" * 1000 + "]" * 1000

#: Values the server cannot carry: a JSON escape of a lone surrogate (no Unicode text holds it:
#: it can be neither stored, hashed, nor echoed in an error frame), deep nesting, and integers
#: beyond 2**53 - 1 (SQLite's INTEGER overflows at 2**63). Each used to close the socket 1011.
UNCARRIABLE: list[Any] = [
    pytest.param(raw(r'{"type": "\ud800"}'), "bad_json", id="surrogate-type"),
    pytest.param(raw(r'{"type": "ping", "\udc00": 1}'), "bad_json", id="surrogate-key"),
    pytest.param(raw('{"type": "ping", "x": ' + DEEP + "}"), "bad_json", id="deep-nesting"),
    pytest.param(raw(DEEP), "bad_json", id="deep-array"),
    pytest.param(obj(type="ping", n=2**63), "bad_json", id="int-2to63-extra-field"),
]

VISITOR_BAD: list[Any] = [
    *COMMON_BAD,
    *UNCARRIABLE,
    pytest.param(
        raw(r'{"type": "message", "client_id": "\ud800", "text": "hi"}'),
        "bad_json",
        id="surrogate-client-id",
    ),
    pytest.param(
        raw(r'{"type": "message", "client_id": "m1", "text": "hi \udfff"}'),
        "bad_json",
        id="surrogate-text",
    ),
    pytest.param(
        obj(type="hello", resume={"conversation_id": "c_abcdefghij", "last_seq": 2**64}),
        "bad_json",
        id="resume-last-seq-2to64",
    ),
    pytest.param(
        raw('{"type": "message", "client_id": "m1", "text": NaN}'), "bad_json", id="nan-literal"
    ),
    pytest.param(
        raw('{"type": "message", "client_id": "m1", "text": Infinity}'),
        "bad_json",
        id="infinity-literal",
    ),
    pytest.param(raw('{"client_id": "m1", "text": "hi"}'), "unknown_type", id="missing-type"),
    pytest.param(
        obj(type="reply", conversation_id="{conv}", client_id="m1", text="hi"),
        "unknown_type",
        id="agent-only-type",
    ),
    pytest.param(obj(type="message", text="hi"), "invalid_frame", id="missing-client-id"),
    pytest.param(obj(type="message", client_id="m1"), "invalid_frame", id="missing-text"),
    pytest.param(
        obj(type="message", client_id="m1", text="hi", admin=True),
        "invalid_frame",
        id="extra-field",
    ),
    pytest.param(
        obj(type="message", client_id="m1", text="hi", conversation_id="{conv}"),
        "invalid_frame",
        id="extra-conversation-id",
    ),
    pytest.param(obj(type="message", client_id="m1", text=42), "invalid_frame", id="text-number"),
    pytest.param(obj(type="message", client_id=7, text="hi"), "invalid_frame", id="client-id-int"),
    pytest.param(
        obj(type="message", client_id="has space", text="hi"), "invalid_frame", id="client-id-space"
    ),
    pytest.param(
        obj(type="message", client_id="x" * 65, text="hi"), "invalid_frame", id="client-id-65"
    ),
    pytest.param(
        obj(type="message", client_id="", text="hi"), "invalid_frame", id="client-id-empty"
    ),
    pytest.param(
        obj(type="message", client_id="m1", text=" \t\n  "), "invalid_frame", id="whitespace-text"
    ),
    pytest.param(obj(type="message", client_id="m1", text=""), "invalid_frame", id="empty-text"),
    pytest.param(
        obj(type="accept", policy_id="conduct", version="2", sha256="0" * 64),
        "invalid_frame",
        id="accept-version-string",
    ),
    pytest.param(
        obj(type="message", client_id="m1", text="x" * (MAX_CHARS + 1)),
        "message_too_long",
        id="text-4001",
    ),
]

AGENT_BAD: list[Any] = [
    *COMMON_BAD,
    *UNCARRIABLE,
    pytest.param(
        raw(r'{"type": "reply", "conversation_id": "c_\ud800", "client_id": "r1", "text": "hi"}'),
        "bad_json",
        id="surrogate-conversation-id",
    ),
    pytest.param(
        obj(type="warn", conversation_id="{conv}", clause_id="1.1", message_seqs=[2**63]),
        "bad_json",
        id="warn-message-seqs-2to63",
    ),
    pytest.param(
        obj(type="close", conversation_id="{conv}", clause_id="1.1", message_seqs=[-(2**63) - 1]),
        "bad_json",
        id="close-message-seqs-minus-2to63",
    ),
    pytest.param(
        obj(type="join", conversation_id="{conv}", last_seq=2**63),
        "bad_json",
        id="join-last-seq-2to63",
    ),
    pytest.param(
        obj(type="join", conversation_id="{conv}", last_seq=1.0),
        "invalid_frame",
        id="join-last-seq-float",
    ),
    pytest.param(
        obj(type="warn", conversation_id="{conv}", clause_id="1.1", message_seqs=[0]),
        "invalid_frame",
        id="warn-message-seqs-0",
    ),
    pytest.param(
        raw('{"type": "reply", "conversation_id": "c_abcdefgh", "client_id": "r1", "text": NaN}'),
        "bad_json",
        id="nan-literal",
    ),
    pytest.param(
        raw('{"conversation_id": "c_abcdefgh", "client_id": "r1", "text": "hi"}'),
        "unknown_type",
        id="missing-type",
    ),
    pytest.param(
        obj(type="message", client_id="r1", text="hi"), "unknown_type", id="visitor-only-type"
    ),
    pytest.param(
        obj(type="reply", conversation_id="{conv}", text="hi"),
        "invalid_frame",
        id="missing-client-id",
    ),
    pytest.param(
        obj(type="reply", client_id="r1", text="hi"), "invalid_frame", id="missing-conversation-id"
    ),
    pytest.param(
        obj(type="reply", conversation_id="{conv}", client_id="r1", text="hi", internal=True),
        "invalid_frame",
        id="extra-field",
    ),
    pytest.param(
        obj(type="reply", conversation_id="{conv}", client_id="r1", text=["hi"]),
        "invalid_frame",
        id="text-array",
    ),
    pytest.param(
        obj(type="reply", conversation_id="{conv}", client_id="bad id!", text="hi"),
        "invalid_frame",
        id="client-id-bad-chars",
    ),
    pytest.param(
        obj(type="reply", conversation_id="{conv}", client_id="r1", text="   "),
        "invalid_frame",
        id="whitespace-text",
    ),
    pytest.param(
        obj(type="reply", conversation_id="not-a-conversation", client_id="r1", text="hi"),
        "invalid_frame",
        id="bad-conversation-id",
    ),
    pytest.param(
        obj(type="close", conversation_id="{conv}", clause_id="1"),
        "invalid_frame",
        id="close-bad-clause-id",
    ),
    pytest.param(
        obj(type="join", conversation_id="{conv}", last_seq=-1),
        "invalid_frame",
        id="join-negative-seq",
    ),
    pytest.param(
        obj(type="reply", conversation_id="{conv}", client_id="r1", text="x" * (MAX_CHARS + 1)),
        "message_too_long",
        id="text-4001",
    ),
]


@pytest.mark.parametrize(("make", "code"), VISITOR_BAD)
async def test_invariant7_visitor_bad_frame_typed_error_connection_kept_nothing_stored(
    server: Server, compliance_token: str, make: Frame, code: str
) -> None:
    """Invariant 7 on /ws/visitor: typed error, connection kept, transcript unchanged."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        await v.send(make(conversation_id))
        error = await v.recv()
        assert error["type"] == "error" and error["code"] == code, error
        assert_clean(error)
        await assert_alive(v)
        ack = await v.say("still here", "after-bad")
        assert (ack["conversation_id"], ack["seq"]) == (conversation_id, 2)
    assert summary(await transcript(server, compliance_token, conversation_id)) == [
        (1, "acceptance", None, None),
        (2, "message", "after-bad", "still here"),
    ]


@pytest.mark.parametrize(("make", "code"), AGENT_BAD)
async def test_invariant7_agent_bad_frame_typed_error_connection_kept_nothing_stored_or_relayed(
    server: Server, agent_token: str, compliance_token: str, make: Frame, code: str
) -> None:
    """Invariant 7 on /ws/agent: typed error, connection kept, nothing stored or relayed."""
    async with visitor(server) as v, agent(server, agent_token) as a:
        conversation_id = await v.accept()
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        await a.send(make(conversation_id))
        error = await next_frame(a)
        assert error["type"] == "error" and error["code"] == code, error
        assert_clean(error)
        await assert_alive(a)
        await a.send(
            {"type": "reply", "conversation_id": conversation_id, "client_id": "ok", "text": "hi"}
        )
        ack = await a.expect("ack")
        assert (ack["client_id"], ack["seq"]) == ("ok", 4)
        # The visitor was relayed the join (which claimed the conversation) and the one good
        # reply, nothing from the bad frame.
        seen = [(await v.expect("event"))["event"] for _ in range(3)]
        assert [(e["seq"], e["type"]) for e in seen] == [
            (2, "assigned"),
            (3, "agent_joined"),
            (4, "message"),
        ]
        await assert_alive(v)
    assert summary(await transcript(server, compliance_token, conversation_id)) == [
        (1, "acceptance", None, None),
        (2, "assigned", None, None),
        (3, "agent_joined", None, None),
        (4, "message", "ok", "hi"),
    ]


# ---------------------------------------------------------------- length limits


@pytest.mark.parametrize(
    "text", ["x" * MAX_CHARS, "é" * MAX_CHARS], ids=["4000-ascii", "4000-two-byte-chars"]
)
async def test_invariant7_message_of_exactly_the_limit_is_accepted_and_stored_whole(
    server: Server, agent_token: str, compliance_token: str, text: str
) -> None:
    """The limit is 4000 characters (not bytes): exactly 4000 is accepted, stored unchanged."""
    async with visitor(server) as v, agent(server, agent_token) as a:
        conversation_id = await v.accept()
        ack = await v.say(text, "at-limit")
        assert ack["seq"] == 2
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        await a.send(
            {"type": "reply", "conversation_id": conversation_id, "client_id": "r", "text": text}
        )
        assert (await a.expect("ack"))["seq"] == 5
    assert summary(await transcript(server, compliance_token, conversation_id)) == [
        (1, "acceptance", None, None),
        (2, "message", "at-limit", text),
        (3, "assigned", None, None),
        (4, "agent_joined", None, None),
        (5, "message", "r", text),
    ]


# ---------------------------------------------------------------- before hello


async def test_invariant7_visitor_frames_before_hello_get_hello_required_and_store_nothing(
    server: Server, compliance_token: str
) -> None:
    """A visitor that skips hello is told hello_required for each frame; hello then works."""
    async with client(f"{server.ws}/ws/visitor") as c:
        offer = (await get(f"{server.http}/api/policy")).json()
        early = [
            {"type": "message", "client_id": "early", "text": "anyone there?"},
            {
                "type": "accept",
                "policy_id": offer["policy_id"],
                "version": offer["version"],
                "sha256": offer["sha256"],
            },
        ]
        for frame in early:
            await c.send(frame)
            error = await c.recv()
            assert (error["type"], error["code"]) == ("error", "hello_required"), error
            assert error.get("request") == frame["type"]
            assert_clean(error)
        await assert_alive(c)
        await c.send({"type": "hello"})
        welcome = await c.expect("welcome")
        # The early accept created nothing: a brand-new visitor, no conversation.
        assert welcome["conversation"] is None
        assert (await c.expect("policy"))["sha256"] == offer["sha256"]
    r = await get(
        f"{server.http}/api/compliance/visitors/{welcome['visitor_id']}/acceptances",
        compliance_token,
    )
    assert r.json()["items"] == []


async def test_invariant7_agent_frames_before_hello_get_hello_required_connection_kept(
    server: Server, agent_token: str
) -> None:
    """An agent connection that skips hello gets hello_required, no list; hello then works."""
    async with client(f"{server.ws}/ws/agent") as c:
        for frame in [{"type": "list"}, {"type": "join", "conversation_id": "c_abcdefghij"}]:
            await c.send(frame)
            error = await c.recv()
            assert (error["type"], error["code"]) == ("error", "hello_required"), error
            assert_clean(error)
        await assert_alive(c)
        await c.send({"type": "hello", "token": agent_token})
        assert (await c.recv())["type"] == "welcome"
        assert (await c.expect("conversations"))["type"] == "conversations"


# ---------------------------------------------------------------- protocol abuse: close codes


@pytest.mark.parametrize("endpoint", ["visitor", "agent"])
async def test_invariant7_binary_frame_closes_1003_and_stores_nothing(
    server: Server, agent_token: str, compliance_token: str, endpoint: str
) -> None:
    """A binary frame is protocol abuse: close 1003, even if its bytes are a valid frame."""
    async with visitor(server) as v:
        conversation_id = await v.accept()
        if endpoint == "visitor":
            frame: dict[str, Any] = {"type": "message", "client_id": "bin", "text": "binary"}
            await v.send(json.dumps(frame).encode())
            assert await closed_with(v) == 1003
        else:
            async with agent(server, agent_token) as a:
                await a.send({"type": "join", "conversation_id": conversation_id})
                await a.expect("caught_up")
                frame = {
                    "type": "reply",
                    "conversation_id": conversation_id,
                    "client_id": "bin",
                    "text": "binary",
                }
                await a.send(json.dumps(frame).encode())
                assert await closed_with(a) == 1003
    assert summary(await transcript(server, compliance_token, conversation_id)) == [
        (1, "acceptance", None, None)
    ] + (
        [(2, "assigned", None, None), (3, "agent_joined", None, None)]
        if endpoint == "agent"
        else []
    )


@pytest.mark.parametrize("endpoint", ["visitor", "agent"])
@pytest.mark.parametrize(
    "payload",
    [b'{"type": "ping", "x": "\xff"}', b'{"type": "ping", "x": "\xed\xa0\x80"}'],
    ids=["invalid-byte", "encoded-surrogate"],
)
async def test_invariant7_a_text_frame_that_is_not_utf8_closes_1007(
    server: Server, endpoint: str, payload: bytes
) -> None:
    """A text frame must be UTF-8 (RFC 6455); a surrogate encoded in it is not. The WebSocket
    layer closes with 1007 before the frame reaches the codec, and logs no traceback for it
    (see the last test of this file); the server carries on."""
    async with client(f"{server.ws}/ws/{endpoint}") as c:
        await c.ws.send(payload, text=True)
        assert await closed_with(c) == 1007
    async with visitor(server) as v:
        await v.accept()
        assert (await v.say("after a bad text frame", "u"))["seq"] == 2


@pytest.mark.parametrize("endpoint", ["visitor", "agent"])
async def test_invariant7_frame_over_default_64k_byte_limit_closes_1009_and_stores_nothing(
    server: Server, agent_token: str, compliance_token: str, endpoint: str
) -> None:
    """A 70000-character frame is over the default 65536-byte limit: close 1009, nothing stored."""
    big = "y" * 70000
    async with visitor(server) as v:
        conversation_id = await v.accept()
        if endpoint == "visitor":
            await v.send({"type": "message", "client_id": "big", "text": big})
            assert await closed_with(v) == 1009
        else:
            async with agent(server, agent_token) as a:
                await a.send({"type": "join", "conversation_id": conversation_id})
                await a.expect("caught_up")
                await a.send(
                    {
                        "type": "reply",
                        "conversation_id": conversation_id,
                        "client_id": "big",
                        "text": big,
                    }
                )
                assert await closed_with(a) == 1009
    events = await transcript(server, compliance_token, conversation_id)
    assert all(e["client_id"] != "big" for e in events)
    # The server is fine: a new visitor is served.
    async with visitor(server) as other:
        await other.accept()
        assert (await other.say("after the big one", "m"))["seq"] == 2


# ---------------------------------------------------------------- configured limits


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server configured with small limits: 100 characters per message, 2048-byte frames."""
    s = Server(
        tmp_path_factory.mktemp("small-limits"),
        PARLEY_MAX_MESSAGE_CHARS="100",
        PARLEY_MAX_FRAME_BYTES="2048",
    ).start()
    yield s
    s.stop()


async def test_invariant7_configured_max_message_chars_is_honoured(small_server: Server) -> None:
    """PARLEY_MAX_MESSAGE_CHARS=100: 100 characters accepted, 101 refused as message_too_long."""
    token = small_server.add_staff("Small Compliance", "compliance")
    async with visitor(small_server) as v:
        conversation_id = await v.accept()
        await v.send({"type": "message", "client_id": "long", "text": "z" * 101})
        error = await v.recv()
        assert (error["type"], error["code"]) == ("error", "message_too_long"), error
        assert "100" in error["message"]
        assert_clean(error)
        # 1500 characters fits in a 2048-byte frame: it is the character limit that refuses it.
        await v.send({"type": "message", "client_id": "longer", "text": "z" * 1500})
        assert (await v.recv())["code"] == "message_too_long"
        assert (await v.say("z" * 100, "exact"))["seq"] == 2
    assert summary(await transcript(small_server, token, conversation_id)) == [
        (1, "acceptance", None, None),
        (2, "message", "exact", "z" * 100),
    ]


async def test_invariant7_configured_max_frame_bytes_closes_1009(small_server: Server) -> None:
    """PARLEY_MAX_FRAME_BYTES=2048: a 3000-byte frame closes the connection with 1009."""
    token = small_server.add_staff("Small Compliance 2", "compliance")
    async with visitor(small_server) as v:
        conversation_id = await v.accept()
        await v.send({"type": "message", "client_id": "huge", "text": "z" * 3000})
        assert await closed_with(v) == 1009
    assert summary(await transcript(small_server, token, conversation_id)) == [
        (1, "acceptance", None, None)
    ]
    assert "Traceback" not in await asyncio.to_thread(small_server.log.read_text)


# ---------------------------------------------------------------- others keep being served


GARBAGE: list[tuple[str, str]] = [
    ("not json", "bad_json"),
    ("[]", "bad_json"),
    ('{"type": "message", "client_id": "g", "text": NaN}', "bad_json"),
    ('{"type": "nope"}', "unknown_type"),
    ('{"text": "no type"}', "unknown_type"),
    ('{"type": "message", "client_id": "g"}', "invalid_frame"),
    ('{"type": "message", "client_id": "g", "text": "   "}', "invalid_frame"),
    (json.dumps({"type": "message", "client_id": "g", "text": "x" * 4001}), "message_too_long"),
]


async def test_invariant7_a_flood_of_garbage_does_not_stop_another_visitor_being_served(
    server: Server, compliance_token: str
) -> None:
    """While one client floods garbage, another completes hello/accept/message/ack."""
    rounds = 25

    async def flood() -> list[str]:
        async with visitor(server) as g:
            conversation_id = await g.accept()
            for _ in range(rounds):
                for text, _code in GARBAGE:
                    await g.send(text)
            codes = [(await g.expect("error"))["code"] for _ in range(rounds * len(GARBAGE))]
            await assert_alive(g)
        assert summary(await transcript(server, compliance_token, conversation_id)) == [
            (1, "acceptance", None, None)
        ]
        return codes

    async def polite() -> str:
        async with visitor(server) as p:
            conversation_id = await p.accept()
            for i in range(5):
                ack = await p.say(f"polite {i}", f"p{i}")
                assert ack["seq"] == i + 2
        return conversation_id

    codes, conversation_id = await asyncio.gather(flood(), polite())
    assert codes == [code for _text, code in GARBAGE] * rounds, "errors lost or out of order"
    assert summary(await transcript(server, compliance_token, conversation_id))[1:] == [
        (i + 2, "message", f"p{i}", f"polite {i}") for i in range(5)
    ]


async def test_invariant7_a_visitor_hanging_up_while_its_events_are_relayed_logs_no_traceback(
    server: Server,
) -> None:
    """A visitor that sends a burst and hangs up after the first ack (while the server is still
    relaying its events back to it) is an ordinary disconnect: no crash, no traceback logged."""
    log_before = (await asyncio.to_thread(server.log.read_text)).count("\n")
    for i in range(5):
        # max_queue=None: the client buffers all it is sent, so its close is not held up.
        async with client(f"{server.ws}/ws/visitor", max_queue=None) as c:
            v = Visitor(c.ws)
            await v.hello()
            await v.accept()
            for j in range(20):
                await v.send({"type": "message", "client_id": f"burst-{i}-{j}", "text": "hi"})
            await v.expect("ack")
    async with visitor(server) as v:  # the server is still serving
        await v.accept()
        assert (await v.say("next", "n"))["seq"] == 2
    written = "\n".join((await asyncio.to_thread(server.log.read_text)).split("\n")[log_before:])
    assert "Traceback" not in written, written[written.find("Traceback") - 300 :][:3000]


# ---------------------------------------------------------------- the server stays clean


async def test_invariant7_no_traceback_in_server_log_after_every_kind_of_bad_input(
    server: Server, agent_token: str
) -> None:
    """Bad input of every kind (and abuse) is handled, not crashed on: the shared server's whole
    log (every test of this file ran before this one) has no traceback."""
    async with visitor(server) as v:
        await v.accept()
        for text, code in GARBAGE:
            await v.send(text)
            assert (await v.recv())["code"] == code
    async with agent(server, agent_token) as a:
        for text, _code in GARBAGE:
            await a.send(text)
            assert_clean(await a.expect("error"))
    for endpoint, abuse, close_code in [
        ("visitor", b"\x00\xff", 1003),
        ("agent", b"\x00\xff", 1003),
        ("visitor", "q" * 70000, 1009),
        ("agent", "q" * 70000, 1009),
    ]:
        async with client(f"{server.ws}/ws/{endpoint}") as c:
            await c.send(abuse)
            assert await closed_with(c) == close_code
    async with visitor(server) as v:
        await v.accept()
        assert (await v.say("fine", "f"))["seq"] == 2
    log = await asyncio.to_thread(server.log.read_text)
    assert "Traceback" not in log, log[log.find("Traceback") - 300 :][:3000]
    assert "unexpected error" not in log
