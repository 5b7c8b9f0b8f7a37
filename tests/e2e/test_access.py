"""Invariant 8 through the real server: least privilege.

Only the compliance and admin roles read evidence; only agents (and admins) act
as agents; a visitor reaches only its own conversation; WebSocket upgrades from
origins that are not allowed are refused; X-Forwarded-For is believed only from
trusted proxies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from harness import Client, Server, Visitor, client, visitor

SHOP = "https://shop.example"
EVIL = "https://evil.example"


# ---------------------------------------------------------------- helpers


@dataclass
class Chat:
    """A real conversation on the server: its visitor, id and a secret the visitor said."""

    visitor_id: str
    token: str
    conversation_id: str
    secret: str


async def start_chat(server: Server, secret: str, **hello: Any) -> Chat:
    async with visitor(server, **hello) as v:
        conversation_id = await v.accept()
        await v.say(secret, "secret")
    return Chat(v.visitor_id, v.token, conversation_id, secret)


async def get(url: str, authorization: str | None = None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with httpx.AsyncClient() as http:
        return await http.get(url, headers=headers)


async def record(server: Server, token: str, conversation_id: str) -> dict[str, Any]:
    r = await get(
        f"{server.http}/api/compliance/conversations/{conversation_id}", f"Bearer {token}"
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def event_types(server: Server, token: str, conversation_id: str) -> list[str]:
    return [e["type"] for e in (await record(server, token, conversation_id))["transcript"]]


async def refused_then_closed(c: Client) -> tuple[list[dict[str, Any]], int | None]:
    """Every frame the server sends until it closes the connection, and the close code."""
    frames = []
    with pytest.raises(ConnectionClosed):
        while True:
            frames.append(await c.recv())
    return frames, c.ws.close_code


def evidence_urls(server: Server, chat: Chat) -> list[str]:
    return [
        f"{server.http}/api/compliance/conversations/{chat.conversation_id}",
        f"{server.http}/api/compliance/visitors/{chat.visitor_id}/acceptances",
        f"{server.http}/api/compliance/policies/conduct/versions/2/conversations",
    ]


# ---------------------------------------------------------------- compliance HTTP API


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer", id="bearer-without-token"),
        pytest.param("Bearer not-a-real-token", id="unknown-token"),
        pytest.param("Basic {compliance}", id="basic-scheme"),
        pytest.param("Token {compliance}", id="token-scheme"),
        pytest.param("{compliance}", id="token-without-scheme"),
        pytest.param("Bearer {visitor}", id="visitor-resume-token"),
    ],
)
async def test_invariant8_compliance_api_without_valid_staff_bearer_token_is_401(
    server: Server, compliance_token: str, authorization: str | None
) -> None:
    """Invariant 8: evidence endpoints answer 401 + WWW-Authenticate: Bearer, and leak nothing."""
    chat = await start_chat(server, "my card number is 4111 1111 1111 1111")
    if authorization is not None:
        authorization = authorization.format(compliance=compliance_token, visitor=chat.token)
    for url in evidence_urls(server, chat):
        r = await get(url, authorization)
        assert r.status_code == 401, (url, r.status_code, r.text)
        assert r.headers["www-authenticate"].split()[0] == "Bearer"
        body = r.json()
        assert list(body) == ["error"] and body["error"]["code"] == "unauthorized", body
        assert isinstance(body["error"]["message"], str)
        assert chat.secret not in r.text and chat.conversation_id not in r.text


async def test_invariant8_compliance_api_refuses_an_agent_token_with_403_forbidden(
    server: Server, agent_token: str
) -> None:
    """Invariant 8: an agent is authenticated but may not read evidence: 403 forbidden."""
    chat = await start_chat(server, "agent must not read this through the evidence API")
    for url in evidence_urls(server, chat):
        r = await get(url, f"Bearer {agent_token}")
        assert r.status_code == 403, (url, r.status_code, r.text)
        body = r.json()
        assert list(body) == ["error"] and body["error"]["code"] == "forbidden", body
        assert chat.secret not in r.text


@pytest.mark.parametrize("role", ["compliance", "admin"])
async def test_invariant8_compliance_and_admin_tokens_read_the_evidence(
    server: Server, compliance_token: str, admin_token: str, role: str
) -> None:
    """Invariant 8: the compliance role (and admin) read evidence across conversations."""
    token = {"compliance": compliance_token, "admin": admin_token}[role]
    chat = await start_chat(server, f"evidence for {role}")
    conversation, acceptances, by_policy = [
        await get(url, f"Bearer {token}") for url in evidence_urls(server, chat)
    ]
    assert conversation.status_code == 200, conversation.text
    assert chat.secret in [e["data"].get("text") for e in conversation.json()["transcript"]]
    assert acceptances.status_code == 200, acceptances.text
    assert [a["conversation_id"] for a in acceptances.json()["items"]] == [chat.conversation_id]
    assert by_policy.status_code == 200, by_policy.text
    assert by_policy.json()["items"], "no conversations listed for the policy in force"
    # The scheme is case-insensitive (RFC 9110 11.1).
    r = await get(evidence_urls(server, chat)[0], f"bearer {token}")
    assert r.status_code == 200, r.text


# ---------------------------------------------------------------- agent WebSocket


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("compliance", "forbidden"),
        ("unknown", "unauthorized"),
        ("visitor", "unauthorized"),
    ],
)
async def test_invariant8_agent_socket_refuses_a_non_agent_token_then_closes_1008(
    server: Server, compliance_token: str, who: str, code: str
) -> None:
    """Invariant 8: only agents act as agents; a refused hello gets one error frame and 1008."""
    chat = await start_chat(server, "the agent lobby must not show this to a non-agent")
    token = {"compliance": compliance_token, "unknown": "x" * 43, "visitor": chat.token}[who]
    async with client(f"{server.ws}/ws/agent") as c:
        await c.send({"type": "hello", "token": token})
        frames, close_code = await refused_then_closed(c)
    assert [(f["type"], f.get("code")) for f in frames] == [("error", code)], frames
    assert close_code == 1008
    assert chat.conversation_id not in json.dumps(frames)


async def test_invariant8_agent_frames_before_hello_are_refused_and_change_nothing(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    """Invariant 8: without hello, join/reply/close/resolve/list are hello_required; the
    connection is kept, no conversation is listed or touched; hello then works."""
    chat = await start_chat(server, "nobody without a token may close this")
    conv = chat.conversation_id
    async with client(f"{server.ws}/ws/agent") as c:
        attempts: list[dict[str, Any]] = [
            {"type": "list"},
            {"type": "join", "conversation_id": conv},
            {"type": "reply", "conversation_id": conv, "client_id": "r", "text": "hijack"},
            {"type": "close", "conversation_id": conv, "clause_id": "1.1"},
            {"type": "resolve", "conversation_id": conv},
        ]
        for frame in attempts:
            await c.send(frame)
            error = await c.recv()
            assert (error["type"], error["code"]) == ("error", "hello_required"), error
        await c.send({"type": "ping"})
        assert await c.recv() == {"type": "pong"}
        assert await event_types(server, compliance_token, conv) == ["acceptance", "message"]
        assert (await record(server, compliance_token, conv))["conversation"]["state"] != "closed"
        await c.send({"type": "hello", "token": agent_token})
        assert (await c.recv())["type"] == "welcome"


async def test_invariant8_admin_token_may_act_as_an_agent(
    server: Server, admin_token: str, compliance_token: str
) -> None:
    """Invariant 8: the admin role may act as an agent: join and reply are stored under it."""
    chat = await start_chat(server, "hello admin")
    async with client(f"{server.ws}/ws/agent") as c:
        await c.send({"type": "hello", "token": admin_token})
        welcome = await c.expect("welcome")
        assert welcome["agent"]["role"] == "admin"
        await c.expect("conversations")
        await c.send({"type": "join", "conversation_id": chat.conversation_id})
        await c.expect("caught_up")
        await c.send(
            {
                "type": "reply",
                "conversation_id": chat.conversation_id,
                "client_id": "a1",
                "text": "admin here",
            }
        )
        assert (await c.expect("ack"))["seq"] == 5  # the join claimed it: assigned, agent_joined
    last = (await record(server, compliance_token, chat.conversation_id))["transcript"][-1]
    assert (last["type"], last["data"]["text"]) == ("message", "admin here")
    assert last["author"]["id"] == welcome["agent"]["id"]


# ---------------------------------------------------------------- visitor isolation


async def test_invariant8_visitor_resuming_a_stranger_conversation_without_token_sees_nothing(
    server: Server, compliance_token: str
) -> None:
    """Invariant 8: a visitor without a token that names another conversation in `resume`
    gets a fresh identity, is offered the policy, and receives nothing of that conversation."""
    victim = await start_chat(server, "victim secret: my address is 1 Main Street")
    async with client(f"{server.ws}/ws/visitor") as c:
        await c.send(
            {"type": "hello", "resume": {"conversation_id": victim.conversation_id, "last_seq": 0}}
        )
        welcome = await c.expect("welcome")
        assert welcome["visitor_id"] != victim.visitor_id
        assert welcome["conversation"] is None
        await c.expect("policy")
        seen = [*c.seen, *await c.barrier()]
    dump = json.dumps(seen)
    assert victim.secret not in dump
    assert victim.conversation_id not in dump
    assert [f["type"] for f in seen] == ["welcome", "policy"]
    assert await event_types(server, compliance_token, victim.conversation_id) == [
        "acceptance",
        "message",
    ]
    # The control: the victim, with its own token, does get its own events back.
    async with visitor(
        server,
        token=victim.token,
        resume={"conversation_id": victim.conversation_id, "last_seq": 0},
    ) as v:
        own = await v.events_until_caught_up()
    assert victim.secret in [e["data"].get("text") for e in own]


async def test_invariant8_visitor_resuming_a_stranger_conversation_gets_only_its_own_events(
    server: Server,
) -> None:
    """Invariant 8: a visitor with its own conversation that names another conversation in
    `resume` receives only its own conversation's events."""
    victim = await start_chat(server, "victim secret: order 1234, password hunter2")
    mallory = await start_chat(server, "mallory's own words")
    async with visitor(
        server,
        token=mallory.token,
        resume={"conversation_id": victim.conversation_id, "last_seq": 0},
    ) as v:
        assert v.visitor_id == mallory.visitor_id
        events = await v.events_until_caught_up()
        await v.send({"type": "ping"})
        await v.expect("pong")
    assert {e["conversation_id"] for e in events} == {mallory.conversation_id}
    assert [e["seq"] for e in events] == [1, 2]
    dump = json.dumps(v.seen)
    assert victim.secret not in dump and victim.conversation_id not in dump


async def test_invariant8_visitor_cannot_write_into_another_conversation(
    server: Server, compliance_token: str
) -> None:
    """Invariant 8: a visitor's message cannot name a conversation: naming one is refused and
    nothing reaches the other conversation."""
    victim = await start_chat(server, "victim words")
    async with visitor(server) as v:
        own = await v.accept()
        await v.send(
            {
                "type": "message",
                "client_id": "x",
                "text": "injected",
                "conversation_id": victim.conversation_id,
            }
        )
        assert (await v.expect("error"))["code"] == "invalid_frame"
        ack = await v.say("mine", "m")
        assert ack["conversation_id"] == own
    assert await event_types(server, compliance_token, victim.conversation_id) == [
        "acceptance",
        "message",
    ]
    texts = [
        e["data"].get("text") for e in (await record(server, compliance_token, own))["transcript"]
    ]
    assert "injected" not in texts


@pytest.mark.parametrize("token", ["garbage", "x" * 43, "a-token-of-another-server"])
async def test_invariant8_unknown_resume_token_is_refused_and_the_connection_kept(
    server: Server, token: str
) -> None:
    """Invariant 8: a resume token that matches no visitor is invalid_token (no identity is
    taken over); the connection stays, and hello without a token then works."""
    async with client(f"{server.ws}/ws/visitor") as c:
        await c.send({"type": "hello", "token": token})
        error = await c.recv()
        assert (error["type"], error["code"]) == ("error", "invalid_token"), error
        await c.send({"type": "ping"})
        assert await c.recv() == {"type": "pong"}
        await c.send({"type": "hello"})
        welcome = await c.recv()
        assert welcome["type"] == "welcome" and welcome["conversation"] is None
        assert welcome["token"] and welcome["token"] != token
        assert (await c.recv())["type"] == "policy"


# ---------------------------------------------------------------- origins


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that allows only https://shop.example and trusts 127.0.0.1 as a proxy."""
    s = Server(
        tmp_path_factory.mktemp("edge-server"),
        PARLEY_ALLOWED_ORIGINS=SHOP,
        PARLEY_TRUSTED_PROXIES="127.0.0.1",
    ).start()
    yield s
    s.stop()


async def assert_refused(url: str, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with client(url, origin=origin):
            pass
    assert refused.value.response.status_code == 403


async def assert_served(url: str, **kwargs: Any) -> None:
    async with client(url, **kwargs) as c:
        await c.send({"type": "ping"})
        assert await c.recv() == {"type": "pong"}


@pytest.mark.parametrize("endpoint", ["visitor", "agent"])
async def test_invariant8_upgrade_from_a_foreign_origin_is_refused_403(
    server: Server, endpoint: str
) -> None:
    """Invariant 8: default config allows only the server's own origin; others get 403."""
    url = f"{server.ws}/ws/{endpoint}"
    for origin in [
        EVIL,
        "null",
        f"https://127.0.0.1:{server.port}",  # another scheme is another origin
        f"http://127.0.0.1:{server.port + 1}",  # another port too
        f"http://127.0.0.1:{server.port}.evil.example",  # a prefix is not a match
        f"http://evil.example#http://127.0.0.1:{server.port}",
    ]:
        await assert_refused(url, origin)


@pytest.mark.parametrize("endpoint", ["visitor", "agent"])
async def test_invariant8_own_origin_and_no_origin_are_served(
    server: Server, endpoint: str
) -> None:
    """Invariant 8: the server's own origin (and a non-browser client with no Origin) connect."""
    url = f"{server.ws}/ws/{endpoint}"
    await assert_served(url, origin=f"http://127.0.0.1:{server.port}")
    await assert_served(url)


@pytest.mark.parametrize("endpoint", ["visitor", "agent"])
async def test_invariant8_configured_allowed_origins_replace_the_default(
    edge_server: Server, endpoint: str
) -> None:
    """Invariant 8: PARLEY_ALLOWED_ORIGINS=https://shop.example allows that origin only."""
    url = f"{edge_server.ws}/ws/{endpoint}"
    await assert_served(url, origin=SHOP)
    await assert_refused(url, f"http://127.0.0.1:{edge_server.port}")
    await assert_refused(url, EVIL)
    await assert_refused(url, "http://shop.example")


# ---------------------------------------------------------------- client IP


@pytest.fixture(scope="module")
def edge_compliance_token(edge_server: Server) -> str:
    return edge_server.add_staff("Edge Compliance", "compliance")


async def acceptance_ip(server: Server, token: str, headers: dict[str, str]) -> str:
    """The client IP recorded in the acceptance of a visitor that connected with ``headers``."""
    async with client(f"{server.ws}/ws/visitor", additional_headers=headers) as c:
        v = Visitor(c.ws)
        await v.hello()
        conversation_id = await v.accept()
    ip: str = (await record(server, token, conversation_id))["acceptance"]["ip"]
    return ip


async def test_invariant8_forwarded_for_from_an_untrusted_peer_is_ignored(
    server: Server, compliance_token: str
) -> None:
    """Invariant 8 / 2: by default no proxy is trusted: the recorded IP is the real peer."""
    headers = {"X-Forwarded-For": "203.0.113.9"}
    assert await acceptance_ip(server, compliance_token, headers) == "127.0.0.1"


@pytest.mark.parametrize(
    ("forwarded_for", "ip"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("203.0.113.9, 198.51.100.7", "198.51.100.7"),  # the rightmost untrusted hop
        ("203.0.113.9, 127.0.0.1", "203.0.113.9"),  # trusted hops are skipped
        ("not-an-address", "127.0.0.1"),  # garbage: fall back to the peer
    ],
)
async def test_invariant8_forwarded_for_from_a_trusted_proxy_is_believed(
    edge_server: Server, edge_compliance_token: str, forwarded_for: str, ip: str
) -> None:
    """Invariant 8 / 2: with PARLEY_TRUSTED_PROXIES=127.0.0.1 the recorded IP is the rightmost
    address that is not a trusted proxy."""
    headers = {"X-Forwarded-For": forwarded_for}
    assert await acceptance_ip(edge_server, edge_compliance_token, headers) == ip
