"""Decode inbound frames: JSON the server can carry, a known type, its schema, then limits.

Every frame is parsed once, by :func:`parse`, which refuses what no later step could
hold: text that is not strict JSON (orjson refuses lone surrogates, ``NaN`` and
``Infinity``), nesting deeper than :data:`MAX_DEPTH`, and numbers beyond
:data:`MAX_NUMBER`. So no schema, store, hash or error frame ever meets such a value.

Validators are built once per endpoint, not per frame, from schemas whose
references (``$ref``) are resolved ahead of time: following a reference at
validation time costs more than checking what it points to.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import orjson
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from parley.errors import BadJson, InvalidFrame, MessageTooLong, UnknownType
from parley.schemas import validator

SCHEMA_BASE = "https://parley.example/schemas/"


#: Objects and arrays nest at most this deep; the deepest valid frame needs 2 (``close.bar``).
MAX_DEPTH = 8
#: The largest magnitude of a number: 2**53 - 1, the integers any JSON reader holds exactly
#: (I-JSON, RFC 7493), well within the 64-bit integers of SQLite and Redis.
MAX_NUMBER = 2**53 - 1
#: Longest client string an error frame echoes as context.
MAX_ECHO = 64
#: Longest error message made from a refused frame (it may quote the client's values).
MAX_PROBLEM = 300


class Endpoint(StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"


@cache
def _registry() -> Registry:
    registry: Registry = Registry()
    folder = resources.files("parley.protocol") / "schemas"
    for name in ("common.json", "visitor.json", "agent.json"):
        schema = json.loads((folder / name).read_text(encoding="utf-8"))
        registry = registry.with_resource(SCHEMA_BASE + name, Resource.from_contents(schema))
    return registry


def inline(schema: Any, resolver: Any, depth: int = 0) -> Any:
    """``schema`` with every ``$ref`` replaced by what it points to (the schemas do not recurse).

    ``resolver`` is a ``referencing`` resolver based where ``schema`` lives.

    A reference with sibling keywords becomes an ``allOf`` of both, which is what
    draft 2020-12 means by it.
    """
    if depth > 32:
        raise ValueError("schema references nest too deep (a recursive schema?)")
    if isinstance(schema, list):
        return [inline(item, resolver, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    body = {key: inline(value, resolver, depth) for key, value in schema.items() if key != "$ref"}
    if not isinstance(ref, str):
        return body
    found = resolver.lookup(ref)
    target = inline(found.contents, found.resolver, depth + 1)
    return {"allOf": [target, body]} if body else target


@cache
def validators(endpoint: Endpoint) -> dict[str, Any]:
    """One validator per frame type the endpoint accepts, over its self-contained schema."""
    resolver = _registry().resolver(f"{SCHEMA_BASE}{endpoint.value}.json")
    definitions = resolver.lookup("#/$defs").contents
    return {name: validator(inline(definitions[name], resolver)) for name in definitions}


class Codec:
    """Turns raw text frames of one endpoint into validated dicts, or raises a typed error."""

    def __init__(self, endpoint: Endpoint, max_message_chars: int) -> None:
        self.endpoint = endpoint
        self.max_message_chars = max_message_chars
        self._validators = validators(endpoint)

    def decode(self, raw: str) -> dict[str, Any]:
        """Return the frame as a dict; raise a :class:`~parley.errors.ProtocolError` subclass."""
        return self.check(parse(raw))

    def check(self, frame: dict[str, Any]) -> dict[str, Any]:
        """``frame`` (from :func:`parse`) if its type, schema and text length are right.

        Raises UnknownType, InvalidFrame or MessageTooLong.
        """
        kind = frame.get("type")
        check = self._validators.get(kind) if isinstance(kind, str) else None
        if check is None:
            known = ", ".join(sorted(self._validators))
            raise UnknownType(
                f"unknown frame type {_clip(repr(kind), MAX_ECHO)}; "
                f"{self.endpoint} frames are: {known}"
            )
        error = best_match(check.iter_errors(frame))
        if error is not None:
            raise InvalidFrame(_clip(f"{kind}: {error.json_path}: {error.message}", MAX_PROBLEM))
        text = frame.get("text")
        if isinstance(text, str) and len(text) > self.max_message_chars:
            raise MessageTooLong(
                f"message is {len(text)} characters; the limit is {self.max_message_chars}"
            )
        return frame


def parse(raw: str | bytes) -> dict[str, Any]:
    """The JSON object ``raw`` holds, if the server can carry every value in it; else BadJson.

    Also for HTTP request bodies (bytes: UTF-8 only), so they meet the same limits."""
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise BadJson(f"frame is not valid JSON: {e}") from None
    if not isinstance(frame, dict):
        raise BadJson(f"frame must be a JSON object, not {type(frame).__name__}")
    _within_limits(frame, 1)
    return frame


def _within_limits(value: Any, depth: int) -> None:
    if isinstance(value, dict | list):
        if depth > MAX_DEPTH:
            raise BadJson(f"frame nests objects and arrays deeper than {MAX_DEPTH} levels")
        for item in value.values() if isinstance(value, dict) else value:
            _within_limits(item, depth + 1)
    elif isinstance(value, int | float) and abs(value) > MAX_NUMBER:
        raise BadJson(f"frame holds a number beyond ±{MAX_NUMBER} (2**53 - 1)")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def request_context(frame: dict[str, Any] | None) -> dict[str, str]:
    """What an error frame may echo of a parsed frame that failed: its type and ids, if short.

    ``None`` (a frame that did not parse) echoes nothing.
    """
    if frame is None:
        return {}
    names = {"type": "request", "client_id": "client_id", "conversation_id": "conversation_id"}
    return {
        echo: frame[name]
        for name, echo in names.items()
        if isinstance(frame.get(name), str) and 0 < len(frame[name]) <= MAX_ECHO
    }


def encode(frame: dict[str, Any]) -> str:
    """Outbound frames: compact JSON, UTF-8 text (what ``json.dumps`` would write, faster)."""
    return orjson.dumps(frame).decode()
