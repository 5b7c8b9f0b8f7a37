"""Decode inbound frames: JSON, then a known type, then its JSON Schema, then limits.

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


class Endpoint(StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


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
        try:
            frame = json.loads(raw, parse_constant=_refuse_constant)
        except ValueError as e:
            raise BadJson(f"frame is not valid JSON: {e}") from None
        if not isinstance(frame, dict):
            raise BadJson(f"frame must be a JSON object, not {type(frame).__name__}")
        kind = frame.get("type")
        check = self._validators.get(kind) if isinstance(kind, str) else None
        if check is None:
            known = ", ".join(sorted(self._validators))
            raise UnknownType(f"unknown frame type {kind!r}; {self.endpoint} frames are: {known}")
        error = best_match(check.iter_errors(frame))
        if error is not None:
            raise InvalidFrame(f"{kind}: {error.json_path}: {error.message}")
        text = frame.get("text")
        if isinstance(text, str) and len(text) > self.max_message_chars:
            raise MessageTooLong(
                f"message is {len(text)} characters; the limit is {self.max_message_chars}"
            )
        return frame


def request_context(raw: str) -> dict[str, str]:
    """What an error frame may echo of a frame that failed: its type and ids, if short strings."""
    try:
        frame = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError:
        return {}
    if not isinstance(frame, dict):
        return {}
    names = {"type": "request", "client_id": "client_id", "conversation_id": "conversation_id"}
    return {
        echo: frame[name]
        for name, echo in names.items()
        if isinstance(frame.get(name), str) and 0 < len(frame[name]) <= 64
    }


def encode(frame: dict[str, Any]) -> str:
    """Outbound frames: compact JSON, UTF-8 text (what ``json.dumps`` would write, faster)."""
    return orjson.dumps(frame).decode()
