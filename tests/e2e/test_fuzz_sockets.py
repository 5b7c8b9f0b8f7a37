"""Invariant 7 under fuzzing: both WebSocket endpoints of a real server, in five session states.

Hypothesis sends short sequences of generated and mutated frames
(``tests/fuzzing.py``) from a visitor before ``hello`` and in a conversation,
and from an agent before ``hello``, after it and after ``join``. After each
frame a ``ping`` is the barrier: everything before its ``pong`` is what the
frame got. The rules, all from docs/protocol.md:

* each frame gets exactly one direct answer, the one the docs give it in that
  state (validation in the documented order, then the frame's own answers and
  errors), with the documented context fields; or, for protocol abuse, the
  documented close code, and never 1011;
* the server stores exactly what its answers say: each ``ack``, ``done`` and
  first ``joined`` is one event with the next seq, nothing else (read back
  through the compliance API, hash chain intact), and relays only what it stored;
* afterwards a new visitor still passes the gate and is acknowledged, and the
  server logged no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from fuzzing import (
    LONG_RUN,
    MAX_FRAME_BYTES,
    Bound,
    Frame,
    NotJson,
    abuse,
    documented_closes,
    documented_errors,
    frame_types,
    frames,
    fuzz_settings,
    parse,
    schema_valid,
)
from harness import (
    POLICIES,
    SENT,
    Client,
    RedisServer,
    Server,
    assert_clean,
    client,
    summary,
    visitor,
)
from parley.domain import language as tags
from parley.domain.conversation import EMAIL
from parley.protocol.codec import Endpoint

MAX_MESSAGE_CHARS = 4000  # PARLEY_MAX_MESSAGE_CHARS, the default
#: A frame's one direct answer (docs/protocol.md §1), and what may be pushed around answers.
DIRECT = frozenset(
    {
        "welcome", "accepted", "ack", "done", "joined", "left", "conversations", "transcript",
        "pong", "error", "observing", "staff", "receipts",
    }
)  # fmt: skip
PUSHED = frozenset(
    {"event", "policy", "caught_up", "conversation_updates", "barred", "typing", "read", "canned"}
    | {"receipt"}  # after a warning or closure the visitor is sent
    | {"team", "staff_presence", "visitor_presence"}  # to hellos that ask for presence
)
#: What a model expects of a frame the server acts on without answering (typing, read).
NOTHING = "nothing"
ERROR_FIELDS = {
    "type",
    "code",
    "message",
    "request",
    "client_id",
    "conversation_id",
    "retry_after",
    "until",
    "clause",
    "error_id",
}
CONTEXT = {"type": "request", "client_id": "client_id", "conversation_id": "conversation_id"}
ENDINGS = {
    "resolve": "resolved",
    "close": "closed",
    "warn": "warning",
    "claim": "assigned",
    "release": "assigned",
}


@dataclass(frozen=True)
class World:
    """The fuzzed server and what the test knows of it (kept out of failure reports)."""

    server: Server = field(repr=False)
    #: One HTTP client for the whole module: a new one loads the CA bundle, 0.2 s each time.
    http: httpx.Client = field(repr=False)
    policy: dict[str, Any] = field(repr=False)
    agent_token: str = field(repr=False)
    compliance_token: str = field(repr=False)
    #: A conversation of another visitor, for a visitor's resume to name.
    stranger: str = field(repr=False)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a failing example's fixtures too: only the name of this one."""
        printer.text("World(...)")


@pytest.fixture(scope="module", params=["sqlite", "redis"] if LONG_RUN else ["sqlite"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """A server of its own: what the fuzzing stores and bars touches no other test.

    On SQLite in every run; ``make fuzz`` fuzzes a server on a Redis of its own too.
    """
    with contextlib.ExitStack() as stack:
        env = {}
        if request.param == "redis":
            redis = RedisServer(tmp_path_factory.mktemp("fuzz-redis")).start()
            stack.callback(redis.stop)
            env["PARLEY_STORE"] = redis.url
        server = Server(tmp_path_factory.mktemp("fuzz-sockets"), POLICIES, **env).start()
        stack.callback(server.stop)
        as_admin = {"Authorization": f"Bearer {server.add_staff('Fuzz Admin', 'admin')}"}
        http = stack.enter_context(httpx.Client(base_url=server.http, timeout=30))

        def add(name: str, role: str) -> str:
            added = http.post(
                "/api/admin/staff", json={"name": name, "role": role}, headers=as_admin
            )
            assert added.status_code == 200, added.text
            token: str = added.json()["token"]
            return token

        async def stranger() -> str:
            async with visitor(server) as v:
                return await v.accept()

        agent_token = add("Fuzz Agent", "agent")
        compliance_token = add("Fuzz Compliance", "compliance")
        policy = http.get("/api/policy").json()
        yield World(server, http, policy, agent_token, compliance_token, asyncio.run(stranger()))


@dataclass
class Conversation:
    """What the test expects a conversation to hold: its events since the fuzzing began."""

    id: str
    last_seq: int
    visitor_seqs: set[int] = field(default_factory=set)
    open: bool = True
    added: list[tuple[int, str, str | None, str | None]] = field(default_factory=list)
    acks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: Whether the fuzzing agent holds it (no one else ever does: it is in the queue otherwise).
    mine: bool = False
    #: The seq the conversation had reached before the fuzzing.
    base: int = field(init=False)

    def __post_init__(self) -> None:
        self.base = self.last_seq

    def stored(
        self, seq: int, kind: str, client_id: str | None = None, text: str | None = None
    ) -> None:
        assert seq == self.last_seq + 1, f"a {kind} event got seq {seq} after {self.last_seq}"
        self.last_seq = seq
        self.added.append((seq, kind, client_id, text))

    def acked(self, author: str, frame: dict[str, Any], ack: dict[str, Any]) -> None:
        key = (author, frame["client_id"])
        if key in self.acks:
            assert ack == self.acks[key], "a resend is acknowledged exactly as the first time"
            return
        assert (ack["client_id"], ack["conversation_id"]) == (frame["client_id"], self.id), ack
        if frame["type"] == "contact":
            self.stored(ack["seq"], "contact_left", frame["client_id"])
        else:
            self.stored(ack["seq"], "message", frame["client_id"], frame["text"])
        self.acks[key] = ack
        if author == "visitor" and frame["type"] == "message":
            self.visitor_seqs.add(ack["seq"])


@dataclass(frozen=True)
class Expected:
    """What the docs let a frame get: answer types (``error:CODE`` for errors), or a close."""

    answers: frozenset[str] = frozenset()
    closes: frozenset[int] = frozenset()
    then_close: int | None = None


def answer(*kinds: str) -> Expected:
    return Expected(frozenset(kinds))


def refused(*codes: str, then_close: int | None = None) -> Expected:
    return Expected(frozenset(f"error:{code}" for code in codes), then_close=then_close)


class VisitorModel:
    """A visitor session as docs/protocol.md §3 describes it."""

    def __init__(self, world: World, conversation: Conversation | None, said_hello: bool) -> None:
        self.world = world
        self.said_hello = said_hello
        self.conversation = conversation
        self.conversations = [conversation] if conversation else []

    def expect(self, frame: dict[str, Any]) -> Expected:
        kind, current = frame["type"], self.conversation
        if kind == "ping":
            return answer("pong")
        if kind == "hello":
            if self.said_hello:
                return refused("invalid_frame")
            return refused("invalid_token") if frame.get("token") else answer("welcome")
        if not self.said_hello:
            return refused("hello_required")
        if kind == "accept":
            policy = self.world.policy
            offered = [frame[k] == policy[k] for k in ("policy_id", "version", "sha256")] == [
                True
            ] * 3 and frame.get("language", policy["language"]).lower() == policy["language"]
            if current is not None and current.open:
                return refused("already_accepted", *([] if offered else ["policy_mismatch"]))
            return answer("accepted") if offered else refused("policy_mismatch")
        if kind == "language":
            # §3.2: a language of the version in force is offered; none while chatting.
            if current is not None and current.open:
                return refused("already_accepted")
            published = tags.best(self.world.policy["languages"], [frame["language"]])
            return answer("policy") if published else refused("unknown_language")
        if kind == "heartbeat":
            return answer("pong")
        if kind == "receipts" and "conversation_id" in frame:
            mine = frame["conversation_id"] in {c.id for c in self.conversations}
            return answer("receipts") if mine else refused("not_found")
        if current is None:
            return refused("policy_not_accepted")
        if kind == "receipts":
            return answer("receipts")
        if kind in ("typing", "read"):
            return self.signal(frame, current)
        if ("visitor", frame["client_id"]) in current.acks:
            return answer("ack")
        if not current.open:
            return refused("conversation_closed")
        if kind == "contact" and EMAIL.fullmatch(frame["email"].strip()) is None:
            return refused("invalid_email")
        return answer("ack")

    @staticmethod
    def signal(frame: dict[str, Any], current: Conversation) -> Expected:
        """Typing and read state (§6.7): silent, unless about another conversation or amiss."""
        if frame.get("conversation_id", current.id) != current.id:
            return refused("not_found")
        if frame["type"] == "typing" and not current.open:
            return refused("conversation_closed")
        if frame["type"] == "read" and frame["seq"] > current.last_seq:
            return refused("invalid_frame")
        return answer(NOTHING)

    def answered(self, frame: dict[str, Any], reply: dict[str, Any]) -> None:
        if reply["type"] == "welcome":
            assert reply["conversation"] is None and reply["visitor_id"].startswith("v_"), reply
            assert isinstance(reply["token"], str) and reply["token"], reply
            self.said_hello = True
        elif reply["type"] == "accepted":
            started = reply["conversation"]
            policy = {
                k: self.world.policy[k] for k in ("policy_id", "version", "sha256", "language")
            }
            assert (started["state"], started["last_seq"], started["policy"]) == ("open", 1, policy)
            self.conversation = Conversation(started["id"], 1)
            self.conversations.append(self.conversation)
        elif reply["type"] == "ack":
            assert self.conversation is not None
            self.conversation.acked("visitor", frame, reply)


class AgentModel:
    """An agent session as docs/protocol.md §6 and §10 describe it, on one conversation."""

    def __init__(
        self, world: World, conversation: Conversation, said_hello: bool, joined: bool
    ) -> None:
        self.world = world
        self.said_hello = said_hello
        self.conversation = conversation
        self.conversations = [conversation]
        self.joined = joined
        #: Whether the conversation lists this agent: joining it once it ended does not.
        self.member = joined

    def expect(self, frame: dict[str, Any]) -> Expected:
        kind, conv = frame["type"], self.conversation
        if kind == "ping":
            return answer("pong")
        if kind == "hello":
            if self.said_hello:
                return refused("invalid_frame")
            if frame["token"] == self.world.agent_token:
                return answer("welcome")
            denied = (
                "forbidden" if frame["token"] == self.world.compliance_token else "unauthorized"
            )
            return refused(denied, then_close=1008)
        if not self.said_hello:
            return refused("hello_required")
        if kind == "presence":
            return answer("done")
        if kind in ("list", "leave", "staff"):
            return answer({"list": "conversations", "leave": "left", "staff": "staff"}[kind])
        if frame["conversation_id"] != conv.id:
            network = isinstance(frame.get("bar"), dict) and frame["bar"].get("network")
            return refused("not_found", *(["invalid_frame"] if network else []))
        if kind == "join":
            return answer("joined")
        if kind == "read_transcript":
            return answer("transcript")
        if kind in ("typing", "read"):  # §6.7: silent, unless amiss
            if not self.member:
                return refused("not_joined")
            if kind == "typing" and not conv.open:
                return refused("conversation_closed")
            if kind == "read" and frame["seq"] > conv.last_seq:
                return refused("invalid_frame")
            return answer(NOTHING)
        if kind == "observe":
            return answer("observing")
        # Only the assignee acts on an open conversation (docs/protocol.md §11).
        others = [] if conv.mine or not conv.open else ["not_assignee"]
        if kind == "claim":
            if not conv.open:
                return refused("conversation_closed")
            return refused("already_assigned") if conv.mine else answer("done")
        if kind in ("release", "transfer"):
            # No transfer target can be guessed: a real one would be unknown_agent's only escape.
            codes = others if conv.open else ["conversation_closed"]
            if kind == "transfer":
                codes = [*codes, "unknown_agent"]
            return refused(*codes) if codes else answer("done")
        if kind == "reply":
            if ("agent", frame["client_id"]) in conv.acks:
                return answer("ack")
            codes = [] if self.joined else ["not_joined"]
            codes += [] if conv.open else ["conversation_closed"]
            codes += others
            return refused(*codes) if codes else answer("ack")
        problems = [] if conv.open else ["conversation_closed"]
        problems += others
        if kind in ("close", "warn"):
            if not set(frame.get("message_seqs", [])) <= conv.visitor_seqs:
                problems.append("bad_evidence")
            if frame["clause_id"] not in {c["id"] for c in self.world.policy["clauses"]}:
                problems.append("unknown_clause")
            if isinstance(frame.get("bar"), dict) and frame["bar"].get("network"):
                return Expected(refused("invalid_frame", *problems).answers | {"done"})
        return refused(*problems) if problems else answer("done")

    def answered(self, frame: dict[str, Any], reply: dict[str, Any]) -> None:
        conv = self.conversation
        if reply["type"] == "welcome":
            assert reply["agent"]["role"] == "agent", reply
            self.said_hello = True
        elif reply["type"] == "observing":
            assert (reply["conversation"]["id"], reply["conversation"]["last_seq"]) == (
                conv.id,
                conv.last_seq,
            ), "observing records nothing"
        elif reply["type"] == "staff":
            assert "Fuzz Agent" in {s["name"] for s in reply["items"]}, reply
        elif reply["type"] == "conversations":
            assert all(c["state"] == "open" for c in reply["items"]), reply
        elif reply["type"] == "left":
            assert reply["conversation_id"] == frame["conversation_id"], reply
        elif reply["type"] == "joined":
            if conv.open and not conv.mine:
                conv.stored(conv.last_seq + 1, "assigned")
                conv.mine = True
            if conv.open and not self.joined:
                conv.stored(conv.last_seq + 1, "agent_joined")
            self.member = self.member or conv.open
            self.joined = True
            assert (reply["conversation"]["id"], reply["conversation"]["last_seq"]) == (
                conv.id,
                conv.last_seq,
            )
        elif reply["type"] == "transcript":
            seqs = [e["seq"] for e in reply["events"]]
            assert seqs == list(range(1, conv.last_seq + 1)), "the whole record, joining nothing"
        elif reply["type"] == "ack":
            conv.acked("agent", frame, reply)
        elif reply["type"] == "done" and frame["type"] == "presence":
            assert reply == {"type": "done", "request": "presence", "state": frame["state"]}
        elif reply["type"] == "done":
            assert (reply["request"], reply["conversation_id"]) == (frame["type"], conv.id), reply
            conv.stored(reply["seq"], ENDINGS[frame["type"]])
            conv.open = conv.open and frame["type"] in ("warn", "claim", "release")
            conv.mine = {"claim": True, "release": False}.get(frame["type"], conv.mine)


Model = VisitorModel | AgentModel


def judge(
    endpoint: Endpoint, model: Model, frame: Frame, payload: str | bytes
) -> tuple[Expected, Any]:
    """What the docs say ``payload`` gets now, and its JSON value (None if it has none)."""
    if frame.kind == "binary":
        return Expected(closes=frozenset({1003})), None
    if isinstance(payload, bytes):  # invalid UTF-8 in a text frame
        return Expected(closes=frozenset({1007}) & documented_closes()), None
    if len(payload.encode()) > MAX_FRAME_BYTES:
        return Expected(closes=frozenset({1009})), None
    try:
        value = parse(payload)
    except NotJson:
        return refused("bad_json"), None
    if not isinstance(value, dict):
        return refused("bad_json"), None
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in frame_types(endpoint):
        expected = refused("unknown_type")
    elif not schema_valid(endpoint, value):
        expected = refused("invalid_frame")
    elif isinstance(value.get("text"), str) and len(value["text"]) > MAX_MESSAGE_CHARS:
        expected = refused("message_too_long")
    else:
        expected = model.expect(value)
    return expected, value


def check_error(error: dict[str, Any], value: Any) -> None:
    """A documented code, no leak, and the failing frame's context as docs/protocol.md §1 says:
    none for a frame refused as ``bad_json`` (``value`` is None), else its short string ids."""
    assert_clean(error)
    assert error["code"] in documented_errors(), f"undocumented error code {error['code']!r}"
    assert set(error) <= ERROR_FIELDS, f"undocumented error fields {set(error) - ERROR_FIELDS}"
    for name, echo in CONTEXT.items():
        held = value.get(name) if isinstance(value, dict) else None
        if isinstance(held, str) and 0 < len(held) <= 64:
            assert error.get(echo) == held, f"the error should name {name} {held!r}: {error}"
        elif not isinstance(held, str) or len(held) > 64:
            assert echo not in error, f"the error names a {name} the frame did not hold: {error}"


class Fuzzer:
    """One connection, its model, and the session values bound into frames."""

    def __init__(
        self, endpoint: Endpoint, c: Client, model: Model, bound: dict[Bound, Any]
    ) -> None:
        self.endpoint = endpoint
        self.client = c
        self.model = model
        self.bound = bound

    async def send(self, frame: Frame) -> bool:
        """Send ``frame`` and check what it got; False once the server closed the connection."""
        payload = frame.payload(self.bound)
        expected, value = judge(self.endpoint, self.model, frame, payload)
        SENT["fuzzed frames"] += 1
        await self.client.ws.send(payload, text=frame.kind != "binary")
        if not expected.closes:
            # A frame that is to close the connection is its own barrier. Anything sent after
            # it races the close: a server that resets the connection loses its close frame.
            await self.client.send({"type": "ping"})
        got, closed = await self._until_barrier("pong" in expected.answers)
        kinds = [f["type"] for f in got]
        said = f"{str(payload)[:160]!r} got {kinds}, closed {closed}; the docs say {expected}"
        assert set(kinds) <= DIRECT | PUSHED, f"undocumented frame types: {said}"
        # A language frame is answered with an offer (§3.2): a policy frame, else only pushed.
        direct = DIRECT | (expected.answers & {"policy"})
        answers = [f for f in got if f["type"] in direct]
        if answers[:1] and answers[0]["type"] == "welcome" and self.endpoint is Endpoint.AGENT:
            together = [a["type"] for a in answers] == ["welcome", "conversations"]
            assert together, f"an agent's welcome comes with the list: {said}"
            self.model.answered(value, answers.pop())
        if expected.closes:
            assert not answers and closed in expected.closes, said
            return False
        if not answers and NOTHING in expected.answers:
            assert closed is None, said
            return True
        assert len(answers) == 1, f"not exactly one answer: {said}"
        reply = answers[0]
        assert (
            f"error:{reply['code']}" if reply["type"] == "error" else reply["type"]
        ) in expected.answers, said
        assert closed == expected.then_close, said
        if reply["type"] == "error":
            check_error(reply, value)
        else:
            self.model.answered(value, reply)
        return closed is None

    async def _until_barrier(
        self, answer_may_be_pong: bool
    ) -> tuple[list[dict[str, Any]], int | None]:
        """The frames before the barrier's pong; or all frames and the close code, if closed."""
        got: list[dict[str, Any]] = []
        while True:
            try:
                frame = await self.client.recv()
            except ConnectionClosed:
                return got, self.client.ws.close_code
            if frame["type"] == "pong" and (
                not answer_may_be_pong or any(f["type"] in DIRECT for f in got)
            ):
                return got, None
            got.append(frame)


async def setup(
    world: World, endpoint: Endpoint, state: str, stack: contextlib.AsyncExitStack
) -> tuple[Fuzzer, Client | None]:
    """A connection in ``state``; and, for an agent, the visitor of its conversation."""
    server, policy = world.server, world.policy
    bound = {
        Bound.CONVERSATION: world.stranger,
        Bound.CLAUSE: policy["clauses"][0]["id"],
        Bound.MESSAGE_SEQ: 2,
        Bound.POLICY_ID: policy["policy_id"],
        Bound.VERSION: policy["version"],
        Bound.SHA256: policy["sha256"],
        Bound.LANGUAGE: policy["language"],
        Bound.AGENT_TOKEN: world.agent_token,
        Bound.COMPLIANCE_TOKEN: world.compliance_token,
    }
    if endpoint is Endpoint.VISITOR and state == "before hello":
        c = await stack.enter_async_context(client(f"{server.ws}/ws/visitor", max_size=None))
        return Fuzzer(endpoint, c, VisitorModel(world, None, said_hello=False), bound), None
    v = await stack.enter_async_context(visitor(server))
    conversation = Conversation(await v.accept(), 1)
    bound[Bound.CONVERSATION] = conversation.id
    if endpoint is Endpoint.VISITOR:
        return Fuzzer(endpoint, v, VisitorModel(world, conversation, said_hello=True), bound), None
    await v.say("please help", "setup")
    conversation = Conversation(conversation.id, 2, visitor_seqs={2})
    a = await stack.enter_async_context(client(f"{server.ws}/ws/agent", max_size=None))
    if state != "before hello":
        await a.send({"type": "hello", "token": world.agent_token})
        await a.expect("conversations")
    if state == "after join":
        await a.send({"type": "join", "conversation_id": conversation.id})
        caught_up = await a.expect("caught_up")
        conversation = Conversation(conversation.id, caught_up["last_seq"], {2}, mine=True)
    model = AgentModel(
        world, conversation, said_hello=state != "before hello", joined=state == "after join"
    )
    return Fuzzer(endpoint, a, model, bound), v


async def fuzz(world: World, endpoint: Endpoint, state: str, sent: list[Frame]) -> None:
    """Send ``sent`` in ``state``, checking each answer; then what was stored, and the server."""
    server = world.server
    log_start = server.log.stat().st_size
    async with contextlib.AsyncExitStack() as stack:
        fuzzer, watcher = await setup(world, endpoint, state, stack)
        for frame in sent:
            if not await fuzzer.send(frame):
                break
        relayed = []
        if watcher is not None:  # the visitor is relayed only what was stored
            await watcher.barrier()
            relayed = [f["event"] for f in watcher.seen if f["type"] == "event"]
    for conv in fuzzer.model.conversations:
        auth = {"Authorization": f"Bearer {world.compliance_token}"}
        found = world.http.get(f"/api/compliance/conversations/{conv.id}", headers=auth)
        assert found.status_code == 200, found.text
        record = found.json()
        assert record["chain"]["intact"], record["chain"]
        assert record["conversation"]["last_seq"] == conv.last_seq, (
            "stored more or less than answered"
        )
        assert summary(record["transcript"])[conv.base :] == conv.added, (
            "stored other than answered"
        )
        stored = {e["seq"]: e for e in record["transcript"]}
        assert all(stored.get(e["seq"]) == e for e in relayed if e["conversation_id"] == conv.id)
    async with visitor(server) as fresh:
        await fresh.accept()
        assert (await fresh.say("still serving", "after-fuzz"))["seq"] == 2
    with server.log.open() as log:
        log.seek(log_start)
        written = log.read()
    assert "Traceback" not in written, written[written.find("Traceback") - 200 :][:3000]


STATES = [
    pytest.param(Endpoint.VISITOR, "before hello", id="visitor-before-hello"),
    pytest.param(Endpoint.VISITOR, "in a conversation", id="visitor-in-conversation"),
    pytest.param(Endpoint.AGENT, "before hello", id="agent-before-hello"),
    pytest.param(Endpoint.AGENT, "after hello", id="agent-after-hello"),
    pytest.param(Endpoint.AGENT, "after join", id="agent-after-join"),
]


@pytest.mark.fuzz
@pytest.mark.parametrize(("endpoint", "state"), STATES)
@fuzz_settings(examples=20)
@given(data=st.data())
def test_invariant7_fuzzed_frames_get_their_documented_answer_and_store_only_that(
    world: World, endpoint: Endpoint, state: str, data: st.DataObject
) -> None:
    sent = data.draw(st.lists(frames(endpoint), min_size=1, max_size=6), label="sent")
    asyncio.run(fuzz(world, endpoint, state, sent))


@pytest.mark.fuzz
@pytest.mark.parametrize(("endpoint", "state"), STATES)
@fuzz_settings(examples=5)
@given(data=st.data())
def test_invariant7_protocol_abuse_closes_with_its_documented_code_and_changes_nothing(
    world: World, endpoint: Endpoint, state: str, data: st.DataObject
) -> None:
    before = data.draw(st.lists(frames(endpoint), max_size=2), label="before")
    sent = [*before, data.draw(abuse(endpoint), label="abuse")]
    asyncio.run(fuzz(world, endpoint, state, sent))
