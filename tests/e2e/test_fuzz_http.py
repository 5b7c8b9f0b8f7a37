"""Fuzzing every HTTP endpoint of a real server: never a 5xx, every error as the docs say.

Each route of the app (a test checks none is missed) gets requests with
generated and mutated path segments, query parameters and bodies — 64-bit
overflows, 20-digit ids, negative and non-ASCII digits, percent-encoded
garbage and surrogates, unknown cursors, times out of range — with the right
method or a wrong one, and with no, bogus, revoked, agent, compliance or
admin credentials. The rules, from docs/protocol.md §8 and §9, and docs/compliance.md:

* no response is a 5xx;
* every error is JSON ``{"error": {"code", "message"}}`` with a documented
  code and that code's documented status; a 401 says ``WWW-Authenticate: Bearer``;
* a request that reaches a staff endpoint without a valid token is 401, with
  a role that may not is 403; a parameter the docs call invalid is 400
  ``bad_request``; a request the docs call valid succeeds;
* a success is JSON, except where the docs say otherwise: CSV listings
  (``format=csv``), the printable evidence and a visitor's copy of their data
  (``format=html``), and the widget, demo page and console, which are files.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from starlette.routing import Route, WebSocketRoute

from fuzzing import (
    Nest,
    NotJson,
    Raw,
    deep_recursion,
    documented_errors,
    fuzz_settings,
    mutated,
    parse,
    render,
)
from harness import LEAKS, REPO, SENT, Server, agent, visitor
from parley.config import Settings
from parley.schemas import validator
from parley.web import admin, canned, holds, webhooks
from parley.web.app import create_app


class Real(Enum):
    """A value only the running server knows, filled in when the request is sent."""

    CONVERSATION = "a conversation id"
    VISITOR = "a visitor id"
    STAFF = "a staff id the fuzzing may revoke"
    BAN = "a bar id"
    CANNED = "a canned reply id"
    HOLD = "a legal hold id"
    WEBHOOK = "a webhook endpoint id"
    CURSOR = "a next_cursor this listing returned"


@dataclass(frozen=True)
class Encoded:
    """A path segment or query value sent exactly as written, percent escapes and all."""

    text: str


@dataclass(frozen=True)
class Endpoint:
    """One route: its method, its path (``{name}`` for parameters) and its query parameters."""

    method: str
    path: str
    query: tuple[str, ...] = ()
    role: str | None = None  # "compliance" (or admin), "admin", "agent" (or admin); None: public
    body: Any = None  # the JSON Schema of the body, for POSTs that take one
    real: dict[str, Real] = field(default_factory=dict)  # what each path parameter names
    found: tuple[str, ...] = ("id",)  # the path parameters that are 404 unless real
    files: bool = False  # a static file, not JSON


FILTERS = ("policy_id", "version", "since", "until", "format", "limit", "cursor")
ENDPOINTS = [
    Endpoint("GET", "/healthz"),
    Endpoint("GET", "/api/policy"),
    Endpoint("GET", "/api/keys"),
    Endpoint("GET", "/api/widget/status"),
    Endpoint("GET", "/api/widget/build"),
    Endpoint("GET", "/log/checkpoint"),
    Endpoint("GET", "/log/checkpoint/{size}"),
    Endpoint("GET", "/log/consistency", ("old", "new")),
    Endpoint(
        "GET",
        "/api/compliance/conversations/{id}",
        role="compliance",
        real={"id": Real.CONVERSATION},
    ),
    Endpoint(
        "GET",
        "/api/compliance/conversations/{id}/evidence",
        ("format",),
        role="compliance",
        real={"id": Real.CONVERSATION},
    ),
    Endpoint("GET", "/api/compliance/acceptances", ("visitor_id", *FILTERS), role="compliance"),
    Endpoint(
        "GET",
        "/api/compliance/visitors/{visitor_id}/acceptances",
        FILTERS,
        role="compliance",
        real={"visitor_id": Real.VISITOR},
    ),
    Endpoint(
        "GET",
        "/api/compliance/visitors/{visitor_id}/export",
        ("format",),
        role="compliance",
        real={"visitor_id": Real.VISITOR},
        found=("visitor_id",),
    ),
    Endpoint(
        "GET",
        "/api/compliance/policies/{policy_id}/versions/{version}/conversations",
        ("limit", "cursor"),
        role="compliance",
    ),
    Endpoint("GET", "/api/compliance/closures", ("clause_id", *FILTERS), role="compliance"),
    Endpoint(
        "GET", "/api/compliance/audit", ("conversation_id", "limit", "cursor"), role="compliance"
    ),
    Endpoint("GET", "/api/compliance/holds", ("active", "limit", "cursor"), role="compliance"),
    Endpoint("POST", "/api/compliance/holds", role="compliance", body=holds.NEW_HOLD.schema),
    Endpoint(
        "POST",
        "/api/compliance/holds/{id}/lift",
        role="compliance",
        body=holds.LIFT_HOLD.schema,
        real={"id": Real.HOLD},
    ),
    Endpoint(
        "GET",
        "/api/conversations/ended",
        ("visitor_id", "conversation_id", "since", "until", "limit", "cursor"),
        role="agent",
    ),
    Endpoint("GET", "/metrics", role="admin"),
    Endpoint("GET", "/api/admin/staff", role="admin"),
    Endpoint("POST", "/api/admin/staff", role="admin", body=admin.NEW_STAFF.schema),
    Endpoint("POST", "/api/admin/staff/{id}/revoke", role="admin", real={"id": Real.STAFF}),
    Endpoint("GET", "/api/admin/bans", ("all",), role="admin"),
    Endpoint(
        "POST",
        "/api/admin/bans/{id}/lift",
        role="admin",
        body=admin.LIFT.schema,
        real={"id": Real.BAN},
    ),
    Endpoint(
        "POST",
        "/api/admin/visitors/{visitor_id}/erase",
        role="admin",
        body=admin.ERASE.schema,
        real={"visitor_id": Real.VISITOR},
        found=("visitor_id",),
    ),
    Endpoint("GET", "/api/admin/canned", role="admin"),
    Endpoint("POST", "/api/admin/canned", role="admin", body=canned.REPLY.schema),
    Endpoint(
        "PUT",
        "/api/admin/canned/{id}",
        role="admin",
        body=canned.REPLY.schema,
        real={"id": Real.CANNED},
    ),
    Endpoint("DELETE", "/api/admin/canned/{id}", role="admin", real={"id": Real.CANNED}),
    Endpoint("GET", "/api/canned", role="agent"),
    Endpoint("GET", "/api/admin/webhooks", role="admin"),
    Endpoint("POST", "/api/admin/webhooks", role="admin", body=webhooks.NEW_ENDPOINT.schema),
    Endpoint("DELETE", "/api/admin/webhooks/{id}", role="admin", real={"id": Real.WEBHOOK}),
    Endpoint(
        "GET",
        "/api/admin/webhooks/{id}/deliveries",
        ("limit", "cursor"),
        role="admin",
        real={"id": Real.WEBHOOK},
    ),
    Endpoint("GET", "/", files=True),
    Endpoint("GET", "/widget.js", files=True),
    Endpoint("GET", "/widget/{digest}.js", files=True),
    Endpoint("GET", "/demo.css", files=True),
    Endpoint("GET", "/console/", files=True),
    Endpoint("GET", "/console/{file}", files=True),
    Endpoint("GET", "/openapi.json"),
    Endpoint("GET", "/ws/visitor"),  # WebSocket paths asked over plain HTTP
    Endpoint("GET", "/ws/agent"),
    Endpoint("GET", "/api/{anything}"),  # a path the server does not have
]

# ---------------------------------------------------------------- values

#: Values docs/protocol.md §9 (Parameters) calls valid, per parameter; a value in neither
#: table is judged only by the shape rules.
VALID = {
    "limit": {"1", "50", "500"},
    "since": {"2026-11-01T00:00:00Z", "2026-11-01T01:00:00.5+01:00", "0001-01-01T00:00:00Z"},
    "until": {"2026-11-24T00:00:00Z", "9999-12-31T23:59:59Z", "2026-11-01T00:00:00+00:00"},
    "version": {"1", "2", str(2**53 - 1)},
    "all": {"true", "false"},
    "active": {"true", "false"},
}
#: Values it calls invalid, per parameter: 400 bad_request.
INVALID = {
    "limit": {"0", "501", str(2**64), "9" * 20, "-1", "1.5", " 1", "+1", "abc", "", "1e3"}
    | {"\u00b2", "\u0661\u0662"},  # digits, but not ASCII ones
    "since": {
        "yesterday",
        "2026-11-01T00:00:00",
        "2026-13-01T00:00:00Z",
        "",
        "2026-11-01T25:00:00Z",
        "0001-01-01T00:00:00+01:00",  # the year 0 in UTC
    },
    "until": {"tomorrow", "2026-11-01T00:00:00", "2026-02-30T00:00:00Z", ""}
    | {"9999-12-31T23:59:59-01:00"},  # the year 10000 in UTC
    "version": {"-1", "two", "1.5", "", "0", str(2**53), str(2**63), str(2**64), "9" * 20}
    | {"\u00b2", "\u0661\u0662"},
    "format": {"xml", "JSON", "", "csv "},
    "cursor": {"zz", "-1", "%", "cursor"},
}
FORMATS = {"json", "csv", "html"}
#: Numbers that overflow 64 bits, or only look like digits.
NUMBERS = {
    "0",
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    "9" * 20,
    "-1",
    "\u0661\u0662",
    "\u00b2",
    "0x10",
}
IDS = {
    "c_" + "A" * 22,
    "v_" + "A" * 22,
    "s_" + "A" * 22,
    "b_" + "A" * 22,
    "conduct",
    "1.1",
    "x" * 3000,
}
SPECIAL = sorted(
    {v for vs in (*VALID.values(), *INVALID.values()) for v in vs}
    | FORMATS
    | NUMBERS
    | IDS
    | {"..", "."}
)
ENCODED = st.sampled_from(
    ["%FF", "%ED%A0%80", "%00", "%", "%zz", "%2F", "a%2Fb", "%C0%AF", "%E2%80%AE"]
)
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


def values(name: str, real: Real | None = None) -> st.SearchStrategy[Any]:
    """A value for the parameter ``name``: mostly one that matters to it, or garbage, or real."""
    relevant = sorted(VALID.get(name, set()) | INVALID.get(name, set()) | NUMBERS | FORMATS)
    choices = [st.sampled_from(relevant)] * 3 + [
        st.sampled_from(SPECIAL),
        TEXT,
        ENCODED.map(Encoded),
    ]
    return st.one_of(*choices, *[st.just(real)] * (3 if real else 0))


class Auth(Enum):
    NONE = "no Authorization header"
    BOGUS = "Bearer bogus"
    BASIC = "Basic dXNlcjpwYXNz"
    EMPTY = "Bearer"
    LONG = "Bearer " + "x" * 4000
    REVOKED = "a revoked admin token"
    AGENT = "an agent token"
    COMPLIANCE = "a compliance token"
    ADMIN = "an admin token"


VALID_AUTH = {
    "compliance": {Auth.COMPLIANCE, Auth.ADMIN},
    "admin": {Auth.ADMIN},
    "agent": {Auth.AGENT, Auth.ADMIN},
}
FORBIDDEN_AUTH = {
    "compliance": {Auth.AGENT},
    "admin": {Auth.AGENT, Auth.COMPLIANCE},
    "agent": {Auth.COMPLIANCE},
}
#: Valid requests that may still be refused by what earlier ones did: a shortcut another
#: canned reply took (409), the fuzzed reply deleted (404).
CANNED_OUTCOMES = {
    ("POST", "/api/admin/canned"): {409},
    ("PUT", "/api/admin/canned/{id}"): {404, 409},
    ("DELETE", "/api/admin/canned/{id}"): {404},
    ("GET", "/log/checkpoint"): {404},  # before the log's first checkpoint
    # A hold on an id of no conversation or visitor (404), or with a blank reason (422);
    # a lift of the hold already lifted (409), or with a blank reason (422).
    ("POST", "/api/compliance/holds"): {404, 422},
    ("POST", "/api/compliance/holds/{id}/lift"): {409, 422},
    # An erasure with a blank basis (422).
    ("POST", "/api/admin/visitors/{visitor_id}/erase"): {422},
    # A webhook URL that is not http(s) with a host, or '*' beside other event types (400).
    ("POST", "/api/admin/webhooks"): {400},
}
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


@dataclass(frozen=True)
class Request:
    method: str
    path: dict[str, Any]
    query: dict[str, Any]
    auth: Auth
    body: Any  # a JSON value (with fuzzing's markers), bytes, or None


def bodies(schema: Any) -> st.SearchStrategy[Any]:
    valid = from_schema(schema)
    raw = st.sampled_from([b"", b"not json", b"\xff\xfe", b'{"name": NaN}', b"[]", b"null"])
    deep = st.sampled_from([Nest(1000, "["), Nest(5000, "{"), Raw('{"name":"x","role":"agent"')])
    return st.one_of(valid, valid, mutated(valid), mutated(valid), raw, deep)


def requests(endpoint: Endpoint) -> st.SearchStrategy[Request]:
    """Requests for ``endpoint``: few parameters at a time, so one bad value shows on its own."""
    names = re.findall(r"{(\w+)}", endpoint.path)
    path = st.fixed_dictionaries({n: values(n, endpoint.real.get(n)) for n in names})
    own = st.fixed_dictionaries(
        {}, optional={n: values(n, Real.CURSOR if n == "cursor" else None) for n in endpoint.query}
    ).filter(lambda q: len(q) <= 2)
    query = st.one_of(own, own, own, st.dictionaries(TEXT, values(""), max_size=2))
    method = st.one_of(st.just(endpoint.method), st.just(endpoint.method), st.sampled_from(METHODS))
    right = sorted(VALID_AUTH.get(endpoint.role or "", ()), key=lambda a: a.name)
    auth = st.one_of(*[st.sampled_from(right)] * (2 if right else 0), st.sampled_from(Auth))
    body = bodies(endpoint.body) if endpoint.body is not None else st.none()
    return st.builds(Request, method, path, query, auth, body)


# ---------------------------------------------------------------- the running server


@dataclass(frozen=True)
class Known:
    """What the test set up on its server, to put real ids, cursors and tokens in requests."""

    real: dict[Real, str] = field(repr=False)
    cursors: dict[str, str] = field(repr=False)
    tokens: dict[Auth, str] = field(repr=False)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints a failing example's fixtures too: only the name of this one."""
        printer.text("Known(...)")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Known]]:
    """A server of its own with two closed conversations of one visitor, one with a bar."""
    server = Server(tmp_path_factory.mktemp("fuzz-http")).start()
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        admin_token = server.add_staff("Http Admin", "admin")
        http = stack.enter_context(httpx.Client(base_url=server.http, timeout=30))
        as_admin = {"Authorization": f"Bearer {admin_token}"}

        def get(path: str) -> Any:
            found = http.get(path, headers=as_admin)
            assert found.status_code == 200, found.text
            return found.json()

        def post(path: str, body: Any = None) -> Any:
            answer = http.post(path, json=body, headers=as_admin)
            assert answer.status_code == 200, answer.text
            return answer.json()

        def add(name: str, role: str) -> tuple[str, str]:
            added = post("/api/admin/staff", {"name": name, "role": role})
            return added["staff"]["id"], added["token"]

        revoked_id, revoked = add("Http Revoked", "admin")
        post(f"/api/admin/staff/{revoked_id}/revoke")
        tokens = {
            Auth.ADMIN: admin_token,
            Auth.AGENT: add("Http Agent", "agent")[1],
            Auth.COMPLIANCE: add("Http Compliance", "compliance")[1],
            Auth.REVOKED: revoked,
        }
        victim = add("Http Victim", "agent")[0]
        # Nothing listens there: its deliveries are logged as failed attempts.
        hook = post("/api/admin/webhooks", {"url": "http://127.0.0.1:9/", "events": ["*"]})
        hook_id = hook["webhook"]["id"]
        conversation, visitor_id = asyncio.run(closed_twice(server, tokens[Auth.AGENT]))
        for _ in range(1500):  # the dispatcher fans the closures' notices out moments later
            if len(get(f"/api/admin/webhooks/{hook_id}/deliveries")["items"]) >= 2:
                break
            time.sleep(0.02)
        for scope, target_id in (("conversation", conversation), ("visitor", visitor_id)):
            post("/api/compliance/holds", {"scope": scope, "target_id": target_id, "reason": "r"})
        real_path = {"{visitor_id}": visitor_id, "{policy_id}": "conduct", "{version}": "2",
                     "{id}": hook_id}  # fmt: skip
        cursors = {}
        for e in ENDPOINTS:
            if "cursor" in e.query:
                path = e.path
                for name, value in real_path.items():
                    path = path.replace(name, value)
                cursors[e.path] = get(f"{path}?limit=1")["next_cursor"]
                assert cursors[e.path], f"{path} should have a second page"
        real = {
            Real.CONVERSATION: conversation,
            Real.VISITOR: visitor_id,
            Real.STAFF: victim,
            Real.BAN: get("/api/admin/bans")["items"][0]["id"],
            Real.HOLD: get("/api/compliance/holds")["items"][0]["id"],
            Real.WEBHOOK: hook_id,
            Real.CANNED: post("/api/admin/canned", {"shortcut": "hi", "text": "Hello!"})["reply"][
                "id"
            ],
        }
        yield http, Known(real, cursors, tokens)


async def closed_twice(server: Server, token: str) -> tuple[str, str]:
    """One visitor's two conversations, each closed citing a clause, the second with a bar."""
    async with visitor(server) as v, agent(server, token) as a:
        for bar in ({}, {"bar": {"hours": 1}}):
            conversation = await v.accept()
            await a.send({"type": "claim", "conversation_id": conversation})
            await a.expect("done")
            await a.send(
                {"type": "close", "conversation_id": conversation, "clause_id": "1.1", **bar}
            )
            await a.expect("done")
        return conversation, v.visitor_id


# ---------------------------------------------------------------- sending and judging


def fill(value: Any, endpoint: Endpoint, known: Known) -> str:
    """A parameter's value as it goes on the wire, percent-encoded unless sent as written."""
    if isinstance(value, Encoded):
        return value.text
    if value is Real.CURSOR:
        value = known.cursors[endpoint.path]
    elif isinstance(value, Real):
        value = known.real[value]
    return urllib.parse.quote(value, safe="")


def target(request: Request, endpoint: Endpoint, known: Known) -> str:
    path = endpoint.path
    for name, value in request.path.items():
        path = path.replace(f"{{{name}}}", fill(value, endpoint, known))
    query = "&".join(
        f"{urllib.parse.quote(k, safe='')}={fill(v, endpoint, known)}"
        for k, v in request.query.items()
    )
    return f"{path}?{query}" if query else path


def decoded(value: Any, known: Known) -> str:
    """A path parameter as the router sees it, after percent-decoding."""
    if isinstance(value, Encoded):
        return urllib.parse.unquote(value.text)
    return known.real[value] if isinstance(value, Real) else str(value)


#: Ids and filters: any text of 1 to 256 characters.
FILTERS_OF_TEXT = {"visitor_id", "policy_id", "clause_id", "conversation_id"}


def judge_query(endpoint: Endpoint, query: dict[str, Any]) -> tuple[bool, bool]:
    """Whether the docs call some parameter invalid, and whether they say nothing of one."""
    formats = (
        {"json", "html"} if endpoint.path.endswith(("/evidence", "/export")) else {"json", "csv"}
    )
    bad = unknown = False
    for name, value in query.items():
        if name not in endpoint.query:
            bad = True  # "a parameter the endpoint does not take"
        elif name in FILTERS_OF_TEXT:
            text = value if isinstance(value, str) else None
            bad |= text is not None and not 1 <= len(text) <= 256
            unknown |= text is None
        else:
            valid = formats if name == "format" else VALID.get(name, set())
            invalid = (
                (INVALID["format"] | FORMATS) - formats
                if name == "format"
                else INVALID.get(name, set())
            )
            bad |= value in invalid
            unknown |= value not in valid | invalid
    return bad, unknown


def judge_body(endpoint: Endpoint, request: Request) -> set[int] | None:
    """The status a POST body earns: 400 unless strict JSON matching the schema, 422 for a
    staff name over 64 characters, None if it is fine."""
    body = request.body
    if body is None:
        return {400}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else render(body, {}, True)
    try:
        value = parse(text)
    except NotJson:
        return {400}
    with deep_recursion():
        if not validator(endpoint.body).is_valid(value):
            return {400}
    return {422} if len(value.get("name", "")) > 64 else None


def expected_status(endpoint: Endpoint, request: Request, known: Known) -> set[int] | None:
    """The statuses the docs allow for ``request``; None where only the shape rules apply."""
    segments = {n: decoded(v, known) for n, v in request.path.items()}
    if any(not s or "/" in s or s in (".", "..") for s in segments.values()):
        return None  # the request is for another path
    if endpoint.files or endpoint.path in ("/ws/visitor", "/ws/agent", "/api/{anything}"):
        return None
    methods = {e.method for e in ENDPOINTS if e.path == endpoint.path}
    if request.method not in methods | ({"HEAD"} if "GET" in methods else set()):
        return {405}
    method = "GET" if request.method == "HEAD" else request.method
    endpoint = next(e for e in ENDPOINTS if (e.method, e.path) == (method, endpoint.path))
    if any(len(s) > 256 for s in segments.values()) or "size" in segments:
        return None  # an over-long id in a path: the docs speak of queries; sizes come and go
    bad, unknown = judge_query(endpoint, request.query)
    if "version" in segments:  # the {version} of a path is read like a version in a query
        bad |= segments["version"] in INVALID["version"]
        unknown |= segments["version"] not in VALID["version"] | INVALID["version"]
    # Which the server checks first (credentials, parameters, body, id) the docs do not
    # say: a request with several faults may get the status of any of them.
    refused: set[int] = {400} if bad else set()
    if endpoint.role is not None and request.auth not in VALID_AUTH[endpoint.role]:
        refused.add(403 if request.auth in FORBIDDEN_AUTH[endpoint.role] else 401)
    if endpoint.body is not None:
        refused |= judge_body(endpoint, request) or set()
    unknown_id = any(
        name in endpoint.real and request.path[name] is not endpoint.real[name]
        for name in endpoint.found
    )
    if refused:
        return refused | ({404} if unknown_id else set())
    if unknown:
        return None
    if unknown_id:
        return {404}
    return {200} | CANNED_OUTCOMES.get((endpoint.method, endpoint.path), set())


#: The paths of the widget, demo page and console: files, not JSON.
FILES = re.compile(r"/(widget\.js|widget/[0-9a-f]{64}\.js|demo\.css|console(/.*)?)?")
#: The log's checkpoints (signed notes) and the Prometheus metrics: plain text.
NOTES = re.compile(r"/log/checkpoint(/[^/]*)?|/metrics")
#: The formats the docs answer in something other than JSON.
MEDIA = {"csv": "text/csv", "html": "text/html", "pdf": "application/pdf"}


def check(
    response: httpx.Response, endpoint: Endpoint, request: Request, allowed: set[int] | None
) -> None:
    """The shape rules for every response, and the status the docs give this request."""
    said = f"{request.method} {response.request.url.raw_path!r} ({request.auth.name}): "
    said += f"{response.status_code} {response.text[:300]!r}"
    assert response.status_code < 500, said
    assert allowed is None or response.status_code in allowed, (
        f"the docs say {sorted(allowed)}: {said}"
    )
    if request.method == "HEAD":
        return
    if response.status_code == 307:  # §9: a trailing slash the route does not have
        sent = response.request.url.path
        target = httpx.URL(response.headers["location"]).path
        assert sent.endswith("/") and target == sent.rstrip("/"), said
        return
    kind = response.headers.get("content-type", "")
    if response.status_code >= 400:
        assert kind.startswith("application/json"), f"an error that is not JSON: {said}"
        body = response.json()
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), said
        code = body["error"]["code"]
        assert code in documented_errors(), f"undocumented error code {code!r}: {said}"
        assert documented_errors()[code] == response.status_code, (
            f"{code} has another status: {said}"
        )
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], said
        assert not LEAKS.search(body["error"]["message"]), f"an error that leaks: {said}"
        if response.status_code == 401:
            assert response.headers.get("www-authenticate") == "Bearer", said
        if response.status_code == 405:
            assert response.headers.get("allow"), f"a 405 without Allow: {said}"
    elif not FILES.fullmatch(response.request.url.path):  # the path as sent, dot segments gone
        chosen = request.query.get("format") if "format" in endpoint.query else None
        media = (
            MEDIA.get(chosen, "application/json") if isinstance(chosen, str) else "application/json"
        )
        if NOTES.fullmatch(response.request.url.path):
            media = "text/plain"
        assert kind.startswith(media), f"a success that is not {media}: {said}"
        if media == "application/json":
            assert isinstance(response.json(), dict), said


def send(http: httpx.Client, endpoint: Endpoint, request: Request, known: Known) -> httpx.Response:
    headers = {}
    if request.auth in known.tokens:
        headers["Authorization"] = f"Bearer {known.tokens[request.auth]}"
    elif request.auth is not Auth.NONE:
        headers["Authorization"] = request.auth.value
    content = None
    if request.body is not None:
        headers["Content-Type"] = "application/json"
        content = (
            request.body
            if isinstance(request.body, bytes)
            else render(request.body, {}, True).encode()
        )
    SENT["HTTP requests"] += 1
    return http.request(
        request.method, target(request, endpoint, known), headers=headers, content=content
    )


REQUESTS = {(e.method, e.path): requests(e) for e in ENDPOINTS}


@pytest.mark.fuzz
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e.method} {e.path}" for e in ENDPOINTS])
@fuzz_settings(examples=30)
@given(data=st.data())
def test_fuzzed_http_requests_never_fail_5xx_and_answer_as_documented(
    fuzzed: tuple[httpx.Client, Known], endpoint: Endpoint, data: st.DataObject
) -> None:
    http, known = fuzzed
    request = data.draw(REQUESTS[(endpoint.method, endpoint.path)], label="request")
    response = send(http, endpoint, request, known)
    check(response, endpoint, request, expected_status(endpoint, request, known))


def test_every_route_of_the_app_is_fuzzed() -> None:
    """A route added to the app without a line in ENDPOINTS would go unfuzzed."""
    app = create_app(Settings(widget_dir=REPO / "widget"))
    served = set()
    for route in app.app.routes:
        path = re.sub(r":\w+}", "}", getattr(route, "path", ""))
        if isinstance(route, WebSocketRoute):
            served.add(("GET", path))
        else:
            assert isinstance(route, Route)
            served |= {(m, path) for m in route.methods or {"GET"} if m != "HEAD"}
    assert served <= {(e.method, e.path) for e in ENDPOINTS}, served - {
        (e.method, e.path) for e in ENDPOINTS
    }
