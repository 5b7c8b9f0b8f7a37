"""What the fuzz tests generate, and what the docs promise about it.

Frames come from the protocol's own JSON Schemas (``hypothesis-jsonschema``),
some bound to the real ids of a running session, then mutated with the values
that break decoders: lone surrogates, control and bidi characters, nesting a
thousand levels deep, integers past 64 bits, floats and ``NaN`` where integers
belong, huge strings, wrong types, extra and missing fields; beside them, text
that is not JSON, binary frames, invalid UTF-8 and frames over the size limit.

The error codes and close codes a client may see are read from
``docs/protocol.md`` (§8), so a code the server sends but the docs do not
list fails the tests, and so does one the docs give another HTTP status.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from referencing import Registry, Resource

from harness import REPO
from parley.protocol.codec import Endpoint, validators
from parley.schemas import validator

MAX_FRAME_BYTES = 65536  # PARLEY_MAX_FRAME_BYTES, the default
#: ``make fuzz``: many new examples per test, shrunk failures, and the Redis store too.
LONG_RUN = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"

# ---------------------------------------------------------------- the docs


@cache
def documented_errors() -> dict[str, int]:
    """Every error code of docs/protocol.md §8, with the HTTP status the docs give it."""
    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", text, re.MULTILINE)
    assert len(rows) > 20, "the error table of docs/protocol.md §8 was not found"
    return {code: int(status) for code, status in rows}


@cache
def documented_closes() -> frozenset[int]:
    """Every WebSocket close code of docs/protocol.md §8."""
    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    codes = frozenset(int(c) for c in re.findall(r"^\| (1\d{3}) \| ", text, re.MULTILINE))
    assert {1003, 1009, 1011} <= codes, "the close code table of docs/protocol.md §8 was not found"
    return codes


# ---------------------------------------------------------------- settings


def fuzz_settings(examples: int) -> settings:
    """``examples`` per test in ``make test``; the fuzz profile's count under ``make fuzz``.

    A real server answers in milliseconds, not microseconds: no deadline, and
    the health checks that time generation are off. Shrinking a failure takes
    hundreds of round trips to the server, more than ``make test`` can wait for:
    there a failure is reported as it was found (the assertion names the frame),
    and ``make fuzz`` shrinks it to the smallest input that still fails.
    """
    slow = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
    if LONG_RUN:
        return settings(deadline=None, suppress_health_check=slow)
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=slow,
        phases=[Phase.explicit, Phase.generate],
    )


# ---------------------------------------------------------------- values that are not plain JSON


@dataclass(frozen=True)
class Raw:
    """A JSON fragment written as-is, e.g. ``NaN``, which ``json.dumps`` would not write."""

    text: str


@dataclass(frozen=True)
class Nest:
    """``depth`` nested arrays (``[``) or objects (``{``); built as text, never recursed on."""

    depth: int
    opener: str

    def render(self) -> str:
        if self.opener == "[":
            return "[" * self.depth + "]" * self.depth
        return '{"a":' * self.depth + "1" + "}" * self.depth


@dataclass(frozen=True)
class Long:
    """A string of ``n`` times ``char`` (a short repr for a huge value)."""

    char: str
    n: int


class Bound(Enum):
    """A value only the running session knows, filled in when the frame is sent."""

    CONVERSATION = "the session's conversation id"
    CLAUSE = "a clause id of the accepted policy version"
    MESSAGE_SEQ = "the seq of a visitor message"
    POLICY_ID = "the policy id in force"
    VERSION = "the version in force"
    SHA256 = "the digest in force"
    LANGUAGE = "the language of that digest's text"
    AGENT_TOKEN = "an agent's token"
    COMPLIANCE_TOKEN = "a compliance token (may not chat)"


def render(value: Any, bound: dict[Bound, Any], ascii_only: bool) -> str:
    """The JSON text of ``value``: markers written out, bound values filled in."""
    if isinstance(value, dict):
        items = (
            f"{render(k, bound, ascii_only)}:{render(v, bound, ascii_only)}"
            for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(render(v, bound, ascii_only) for v in value) + "]"
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Nest):
        return value.render()
    if isinstance(value, Long):
        return json.dumps(value.char * value.n, ensure_ascii=ascii_only)
    if isinstance(value, Bound):
        return json.dumps(bound[value])
    return json.dumps(value, ensure_ascii=ascii_only)


@dataclass(frozen=True)
class Frame:
    """One frame to send: a JSON value, or raw text, or bytes.

    ``kind`` is ``json`` (``body`` is a value, written with or without ``\\u``
    escapes), ``text`` (``body`` is sent as a text frame as-is), ``binary``, or
    ``bad_utf8`` (``body`` is bytes sent in a *text* frame).
    """

    kind: str
    body: Any
    ascii_only: bool = True

    def payload(self, bound: dict[Bound, Any]) -> str | bytes:
        if self.kind != "json":
            return self.body  # type: ignore[no-any-return]
        text = render(self.body, bound, self.ascii_only)
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate can only travel as a \u escape
            text = render(self.body, bound, True)
        return text


# ---------------------------------------------------------------- nasty values

SURROGATES = st.sampled_from(["\ud800", "\udfff", "x\ud83d", "\ude00y", "\ud83d\ud83d"])
CONTROLS = st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), min_size=1, max_size=6)
BIDI = st.sampled_from(["\u202e", "abc\u202edcba", "\u2066x\u2069", "\u200f", "\u061c", "\ufeff"])
INTEGERS = st.sampled_from(
    [-1, 2**63, 2**64, 2**63 - 1, -(2**63) - 1, 2**64 + 1, 10**30, -(10**30), 2**53 + 1, 0]
)
FLOATS = st.sampled_from([1.0, 0.5, -0.0, 1e308, 5e-324, Raw("1e400"), Raw("-1e400"), Raw("2E1")])
LITERALS = st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity")])
DEEP = st.builds(Nest, st.sampled_from([2, 100, 1000, 5000]), st.sampled_from(["[", "{"]))
HUGE = st.builds(
    Long,
    st.sampled_from(["x", " ", "é", "\u202e", "😀"]),
    st.sampled_from([4001, 20000, 60000, 70000]),
)
WRONG_TYPES = st.sampled_from([None, True, False, [], {}, "", " ", [1, "a"], {"type": "ping"}])
NASTY: st.SearchStrategy[Any] = st.one_of(
    SURROGATES,
    CONTROLS,
    BIDI,
    INTEGERS,
    FLOATS,
    LITERALS,
    DEEP,
    HUGE,
    WRONG_TYPES,
    st.text(max_size=12),
)

# ---------------------------------------------------------------- frames from the schemas


@cache
def _generators(endpoint: Endpoint) -> dict[str, st.SearchStrategy[Any]]:
    """Valid frames of each type, straight from the endpoint's schemas."""
    return {name: from_schema(v.schema) for name, v in validators(endpoint).items()}


def _bind(frame: dict[str, Any], choices: list[bool], token: Bound | None) -> dict[str, Any]:
    """``frame`` with some generated values replaced by the session's real ones.

    A ``hello`` may get a real staff ``token``, or none: a new visitor, an agent refused.
    """
    bind = iter(choices)
    out = copy.deepcopy(frame)
    if "conversation_id" in out and next(bind):
        out["conversation_id"] = Bound.CONVERSATION
        if isinstance(out.get("bar"), dict):
            out["bar"] = {k: v for k, v in out["bar"].items() if k not in BARS_EVERYONE}
    if "clause_id" in out and next(bind):
        out["clause_id"] = Bound.CLAUSE
    if "message_seqs" in out and next(bind):
        out["message_seqs"] = [Bound.MESSAGE_SEQ]
    if out["type"] == "accept" and next(bind):
        out |= {"policy_id": Bound.POLICY_ID, "version": Bound.VERSION, "sha256": Bound.SHA256}
        if "language" in out:
            out["language"] = Bound.LANGUAGE
    if out["type"] == "language" and next(bind):
        out["language"] = Bound.LANGUAGE
    if out["type"] == "hello" and next(bind):
        out.pop("token", None)
        if token is not None:
            out["token"] = token
    return out


def schema_frames(endpoint: Endpoint) -> st.SearchStrategy[dict[str, Any]]:
    """Valid frames of ``endpoint`` (now and then one of the other endpoint), some bound."""
    other = Endpoint.AGENT if endpoint is Endpoint.VISITOR else Endpoint.VISITOR
    own = st.sampled_from(sorted(_generators(endpoint))).flatmap(lambda t: _generators(endpoint)[t])
    foreign = st.sampled_from(sorted(_generators(other))).flatmap(lambda t: _generators(other)[t])
    choices = st.lists(st.booleans(), min_size=5, max_size=5)
    tokens = st.sampled_from([None, Bound.AGENT_TOKEN, Bound.COMPLIANCE_TOKEN])
    return st.builds(_bind, st.one_of(own, own, own, foreign), choices, tokens)


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every object and array inside ``value``, the value itself first."""
    if isinstance(value, dict | list):
        yield path
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            yield from _places(item, (*path, key))


def _integers(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every integer inside ``value``."""
    if isinstance(value, dict | list):
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            yield from _integers(item, (*path, key))
    elif isinstance(value, int) and not isinstance(value, bool):
        yield path


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


#: Fields of a ``close``'s bar that would bar the test's own address, and so every visitor.
BARS_EVERYONE = frozenset({"ip", "network"})


@st.composite
def mutated(draw: st.DrawFn, frames: st.SearchStrategy[Any]) -> Any:
    """A frame with one field or item replaced by a nasty value, dropped, or one added;
    or one of its integers replaced by one at or past the edges of 64 bits."""
    frame = copy.deepcopy(draw(frames))
    integers = list(_integers(frame))
    edge: bool = draw(st.booleans())
    if integers and edge:
        path = draw(st.sampled_from(integers))
        _at(frame, path[:-1])[path[-1]] = draw(INTEGERS)
        return frame
    where = _at(frame, draw(st.sampled_from(list(_places(frame)))))
    how = draw(st.sampled_from(["replace", "replace", "drop", "add"]) if where else st.just("add"))
    if how == "add" and isinstance(where, list):
        where.append(draw(NASTY))
    elif how == "add":
        names = st.one_of(st.sampled_from(["admin", "seq", "conversation_id"]), st.text(max_size=8))
        name = draw(names.filter(lambda n: n not in BARS_EVERYONE))
        where[name] = draw(NASTY)
    else:
        keys = range(len(where)) if isinstance(where, list) else sorted(where)
        key = draw(st.sampled_from(keys))
        if how == "drop":
            del where[key]
        else:
            where[key] = draw(NASTY)
    return frame


NOT_OBJECTS = st.sampled_from(
    ["[]", "42", '"ping"', "null", "true", '[{"type":"ping"}]', "NaN", "-Infinity"]
)
NOT_JSON = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "{",
            '{"type":"ping"',
            "{'type':'ping'}",
            '\ufeff{"type":"ping"}',
            '{"type":"ping"}x',
        ]
    ),
)
BAD_UTF8 = st.sampled_from(
    [
        b"\xff",
        b"\xc0\xaf",
        b'{"type":"ping","x":"\xed\xa0\x80"}',
        b"\xf4\x90\x80\x80",
        b'{"type":"\x80"}',
    ]
)


def frames(endpoint: Endpoint) -> st.SearchStrategy[Frame]:
    """One text frame a client could send to ``endpoint``: JSON or not, valid or not."""
    valid = schema_frames(endpoint)
    as_json = st.builds(
        Frame, st.just("json"), st.one_of(valid, mutated(valid), mutated(valid)), st.booleans()
    )
    return st.one_of(
        as_json,
        as_json,
        as_json,
        st.one_of(
            st.builds(Frame, st.just("text"), st.one_of(NOT_JSON, NOT_OBJECTS)),
            st.builds(Frame, st.just("json"), DEEP),
        ),
    )


def abuse(endpoint: Endpoint) -> st.SearchStrategy[Frame]:
    """A frame that breaks the WebSocket protocol: binary, invalid UTF-8, or over the size limit."""
    oversized = schema_frames(endpoint).map(lambda f: {**f, "text": Long("y", MAX_FRAME_BYTES)})
    return st.one_of(
        st.builds(Frame, st.just("binary"), st.binary(max_size=16) | st.just(b'{"type":"ping"}')),
        st.builds(Frame, st.just("bad_utf8"), BAD_UTF8),
        st.builds(Frame, st.just("json"), oversized),
    )


# ---------------------------------------------------------------- judging a frame as the docs do

_SCHEMA_BASE = "https://parley.example/schemas/"


@cache
def _registry() -> Registry:
    folder = resources.files("parley.protocol") / "schemas"
    registry: Registry = Registry()
    for name in ("common.json", "visitor.json", "agent.json"):
        schema = json.loads((folder / name).read_text(encoding="utf-8"))
        registry = registry.with_resource(_SCHEMA_BASE + name, Resource.from_contents(schema))
    return registry


@cache
def frame_types(endpoint: Endpoint) -> frozenset[str]:
    """The frame types of an endpoint: the ``$defs`` of its schema file."""
    return frozenset(_registry()[f"{_SCHEMA_BASE}{endpoint.value}.json"].contents["$defs"])


@cache
def _frame_validator(endpoint: Endpoint, kind: str) -> Any:
    return validator({"$ref": f"{_SCHEMA_BASE}{endpoint.value}.json#/$defs/{kind}"}, _registry())


def schema_valid(endpoint: Endpoint, frame: dict[str, Any]) -> bool:
    """Whether ``frame`` matches its type's schema, read from the schema files themselves."""
    with deep_recursion():
        return not any(True for _ in _frame_validator(endpoint, frame["type"]).iter_errors(frame))


class NotJson(Exception):
    """The text is not JSON the docs accept (``NaN`` and ``Infinity`` included)."""


class deep_recursion:
    """Room for Python's json and jsonschema to walk values a thousand levels deep."""

    def __enter__(self) -> None:
        self.limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.limit, 30000))

    def __exit__(self, *_: object) -> None:
        sys.setrecursionlimit(self.limit)


def _refuse(name: str) -> Any:
    raise NotJson(name)


#: docs/protocol.md §1, Validation: "objects and arrays nest at most 8 levels deep"...
MAX_DEPTH = 8
#: ... "every number lies between -(2^53-1) and 2^53-1".
MAX_NUMBER = 2**53 - 1


def parse(text: str) -> Any:
    """The JSON value of ``text``, read as the server must (docs/protocol.md §1, step 1).

    Raises NotJson for what is not JSON (``NaN`` and ``Infinity`` included), and for
    what the server cannot carry: a lone surrogate, nesting deeper than 8 levels, a
    number beyond 2^53 - 1 either way.
    """
    try:
        with deep_recursion():
            value = json.loads(text, parse_constant=_refuse)
    except ValueError as e:
        raise NotJson(str(e)) from None
    if has_lone_surrogate(value):
        raise NotJson("a lone surrogate")
    if depth(value) > MAX_DEPTH:
        raise NotJson(f"nested deeper than {MAX_DEPTH} levels")
    if any(abs(n) > MAX_NUMBER for n in _numbers(value)):
        raise NotJson(f"a number beyond {MAX_NUMBER}")
    return value


def _numbers(value: Any) -> Iterator[int | float]:
    if isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield value


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value``."""
    with deep_recursion():
        if isinstance(value, dict):
            return 1 + max(map(depth, value.values()), default=0)
        if isinstance(value, list):
            return 1 + max(map(depth, value), default=0)
        return 0


def has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in ``value`` holds a surrogate UTF-8 cannot carry."""
    with deep_recursion():
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                return True
            return False
        if isinstance(value, dict):
            return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
        if isinstance(value, list):
            return any(map(has_lone_surrogate, value))
        return False
