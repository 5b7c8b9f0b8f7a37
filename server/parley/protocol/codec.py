"""Decode inbound frames: JSON, then a known type, then its JSON Schema, then limits.

Validators are compiled once per endpoint, not per frame.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

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


@cache
def validators(endpoint: Endpoint) -> dict[str, Any]:
    """One compiled validator per frame type the endpoint accepts."""
    registry = _registry()
    root = registry.contents(f"{SCHEMA_BASE}{endpoint.value}.json")
    return {
        name: validator(
            {"$ref": f"{SCHEMA_BASE}{endpoint.value}.json#/$defs/{name}"}, registry=registry
        )
        for name in root["$defs"]
    }


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
    """Outbound frames: compact JSON, UTF-8 text."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
