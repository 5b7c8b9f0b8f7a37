"""Decoding inbound frames (invariant 7: bad input changes nothing, it gets a typed error)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.errors import BadJson, InvalidFrame, MessageTooLong, UnknownType
from parley.protocol.codec import Codec, Endpoint, encode, validators

MAX = 50
SHA = "0b34ca9c061365192a0762ce895be2f6508cf60ccfb37e84e7c758af236b10d5"
CONV = "c_Abc-123_xyz"

#: Valid frames a client may send, for every frame type of each endpoint.
EXAMPLES: dict[Endpoint, list[dict[str, Any]]] = {
    Endpoint.VISITOR: [
        {"type": "hello"},
        {"type": "hello", "token": None},
        {
            "type": "hello",
            "token": "vt_0123456789",
            "resume": {"conversation_id": CONV, "last_seq": 0},
            "client": {
                "locale": "fr-FR",
                "page_url": "https://shop.example/help?q=é",
                "widget_build": "w-2026.03.01",
            },
        },
        {"type": "hello", "client": {"locale": None, "page_url": None, "widget_build": None}},
        {"type": "accept", "policy_id": "conduct", "version": 1, "sha256": SHA},
        {"type": "message", "client_id": "m-1", "text": "Hello, my order is late"},
        {"type": "message", "client_id": "A.b_c:d-9", "text": "  ünïcödé — 日本  "},
        {"type": "ping"},
    ],
    Endpoint.AGENT: [
        {"type": "hello", "token": "at_secret"},
        {"type": "list"},
        {"type": "join", "conversation_id": CONV},
        {"type": "join", "conversation_id": CONV, "last_seq": 7},
        {"type": "leave", "conversation_id": CONV},
        {"type": "reply", "conversation_id": CONV, "client_id": "r1", "text": "Let me check."},
        {"type": "resolve", "conversation_id": CONV},
        {"type": "resolve", "conversation_id": CONV, "note": None},
        {"type": "resolve", "conversation_id": CONV, "note": "refund issued"},
        {"type": "close", "conversation_id": CONV, "clause_id": "1.1"},
        {"type": "close", "conversation_id": CONV, "clause_id": "12.345", "note": "slurs"},
        {"type": "close", "conversation_id": CONV, "clause_id": "1.2", "message_seqs": [3, 5]},
        {"type": "warn", "conversation_id": CONV, "clause_id": "4.1"},
        {
            "type": "warn",
            "conversation_id": CONV,
            "clause_id": "4.1",
            "note": "n",
            "message_seqs": [2],
        },
        {"type": "ping"},
    ],
}

#: The frame of each endpoint that carries a message text.
TEXT_FRAME: dict[Endpoint, dict[str, Any]] = {
    Endpoint.VISITOR: {"type": "message", "client_id": "m1", "text": "hi"},
    Endpoint.AGENT: {"type": "reply", "conversation_id": CONV, "client_id": "r1", "text": "hi"},
}

ENDPOINTS = list(Endpoint)


def codec(endpoint: Endpoint) -> Codec:
    return Codec(endpoint, max_message_chars=MAX)


def text_frame(endpoint: Endpoint, **changes: Any) -> str:
    frame = {**TEXT_FRAME[endpoint], **changes}
    return json.dumps({k: v for k, v in frame.items() if v is not ...})


@pytest.mark.parametrize(
    "endpoint, frame",
    [(ep, frame) for ep, frames in EXAMPLES.items() for frame in frames],
)
def test_every_valid_example_decodes(endpoint: Endpoint, frame: dict[str, Any]) -> None:
    """Protocol: each documented valid frame decodes to itself."""
    assert codec(endpoint).decode(json.dumps(frame)) == frame


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_examples_cover_every_frame_type(endpoint: Endpoint) -> None:
    """Protocol: every frame type an endpoint accepts has a valid example here."""
    assert {f["type"] for f in EXAMPLES[endpoint]} == set(validators(endpoint))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_validators_are_compiled_once(endpoint: Endpoint) -> None:
    """Performance: schemas compile once per endpoint, shared by every connection."""
    assert validators(endpoint) is validators(endpoint)
    assert codec(endpoint)._validators is codec(endpoint)._validators


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "raw",
    ["", "hello", "{", '{"type": "ping"', "{'type': 'ping'}", '{"type": "ping"} x', "\x00"],
)
def test_non_json_is_bad_json(endpoint: Endpoint, raw: str) -> None:
    """Invariant 7: text that is not JSON raises BadJson."""
    with pytest.raises(BadJson):
        codec(endpoint).decode(raw)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("raw", ["[]", '[{"type": "ping"}]', "1", "-2.5", '"ping"', "null", "true"])
def test_json_that_is_not_an_object_is_bad_json(endpoint: Endpoint, raw: str) -> None:
    """Invariant 7: a frame must be a JSON object."""
    with pytest.raises(BadJson, match="JSON object"):
        codec(endpoint).decode(raw)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_number_literals_are_bad_json(endpoint: Endpoint, literal: str) -> None:
    """Invariant 7: NaN and Infinity are not JSON and are refused, wherever they appear."""
    raws = [
        literal,
        f'{{"type": "ping", "n": {literal}}}',
        f'{{"type": "join", "conversation_id": "{CONV}", "last_seq": {literal}}}',
    ]
    for raw in raws:
        with pytest.raises(BadJson):
            codec(endpoint).decode(raw)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "frame",
    [{}, {"text": "hi"}, {"type": "shout"}, {"type": None}, {"type": 1}, {"type": ["ping"]}],
)
def test_unknown_or_missing_type_is_unknown_type(endpoint: Endpoint, frame: dict[str, Any]) -> None:
    """Invariant 7: a frame without a known "type" raises UnknownType listing the known ones."""
    with pytest.raises(UnknownType, match="ping"):
        codec(endpoint).decode(json.dumps(frame))


def test_types_of_one_endpoint_are_unknown_on_the_other() -> None:
    """Least privilege: a visitor cannot send agent frames, nor an agent visitor frames."""
    close = {"type": "close", "conversation_id": CONV, "clause_id": "1.1"}
    with pytest.raises(UnknownType):
        codec(Endpoint.VISITOR).decode(json.dumps(close))
    accept = {"type": "accept", "policy_id": "conduct", "version": 1, "sha256": SHA}
    with pytest.raises(UnknownType):
        codec(Endpoint.AGENT).decode(json.dumps(accept))


def assert_invalid(endpoint: Endpoint, raw: str, *needles: str) -> None:
    with pytest.raises(InvalidFrame) as caught:
        codec(endpoint).decode(raw)
    for needle in needles:
        assert needle in str(caught.value), (needle, str(caught.value))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("field", ["client_id", "text"])
def test_a_missing_required_field_is_invalid(endpoint: Endpoint, field: str) -> None:
    """Invariant 7: a frame missing a required field raises InvalidFrame naming it."""
    assert_invalid(endpoint, text_frame(endpoint, **{field: ...}), f"'{field}'", "required")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_extra_field_is_invalid(endpoint: Endpoint) -> None:
    """Invariant 7: a frame with a field its schema does not define raises InvalidFrame."""
    assert_invalid(endpoint, text_frame(endpoint, admin=True), "'admin'")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "field, value",
    [("text", 5), ("text", ["hi"]), ("text", None), ("client_id", 7), ("client_id", {"a": 1})],
)
def test_a_field_of_the_wrong_type_is_invalid(endpoint: Endpoint, field: str, value: Any) -> None:
    """Invariant 7: a field of the wrong JSON type raises InvalidFrame naming its path."""
    assert_invalid(endpoint, text_frame(endpoint, **{field: value}), f"$.{field}")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("client_id", ["", "has space", "a/b", "é", "x" * 65])
def test_a_bad_client_id_is_invalid(endpoint: Endpoint, client_id: str) -> None:
    """Invariant 6: client ids follow one pattern, so a retry can be matched exactly."""
    assert_invalid(endpoint, text_frame(endpoint, client_id=client_id), "$.client_id")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_client_id_may_be_64_characters(endpoint: Endpoint) -> None:
    """Invariant 6: the longest allowed client id is accepted."""
    assert codec(endpoint).decode(text_frame(endpoint, client_id="x" * 64))["client_id"] == "x" * 64


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("text", ["", " ", "   \n\t ", "\u00a0\u2003"])
def test_whitespace_only_text_is_invalid(endpoint: Endpoint, text: str) -> None:
    """Invariant 7: a message must hold at least one non-space character."""
    assert_invalid(endpoint, text_frame(endpoint, text=text), "$.text")


@pytest.mark.parametrize("sha256", ["", SHA[:-1], SHA + "0", SHA.upper(), "g" * 64, 12345, None])
def test_a_bad_sha256_is_invalid(sha256: Any) -> None:
    """Invariant 2: an accept echoes a 64-digit lowercase hex digest, or is refused."""
    frame = {"type": "accept", "policy_id": "conduct", "version": 1, "sha256": sha256}
    assert_invalid(Endpoint.VISITOR, json.dumps(frame), "$.sha256")


@pytest.mark.parametrize(
    "endpoint, frame, path",
    [
        (Endpoint.VISITOR, {"type": "message", "client_id": "m1\n", "text": "hi"}, "$.client_id"),
        (
            Endpoint.VISITOR,
            {"type": "accept", "policy_id": "conduct", "version": 1, "sha256": SHA + "\n"},
            "$.sha256",
        ),
        (Endpoint.AGENT, {"type": "join", "conversation_id": CONV + "\n"}, "$.conversation_id"),
        (
            Endpoint.AGENT,
            {"type": "close", "conversation_id": CONV, "clause_id": "1.1\n"},
            "$.clause_id",
        ),
    ],
)
def test_patterns_match_the_whole_value_not_a_trailing_newline(
    endpoint: Endpoint, frame: dict[str, Any], path: str
) -> None:
    """Invariant 7: a value with a trailing newline does not match a '^...$' pattern (ECMA-262)."""
    assert_invalid(endpoint, json.dumps(frame), path)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_text_of_exactly_the_limit_is_accepted(endpoint: Endpoint) -> None:
    """Message limit: max_message_chars characters are allowed."""
    text = "é" * MAX
    assert codec(endpoint).decode(text_frame(endpoint, text=text))["text"] == text


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_text_over_the_limit_is_message_too_long(endpoint: Endpoint) -> None:
    """Message limit: one character over max_message_chars raises MessageTooLong."""
    with pytest.raises(MessageTooLong, match=str(MAX)):
        codec(endpoint).decode(text_frame(endpoint, text="a" * (MAX + 1)))


def test_the_limit_is_per_codec() -> None:
    """Message limit: the configured limit, not a constant, decides."""
    raw = text_frame(Endpoint.VISITOR, text="a" * 20)
    assert Codec(Endpoint.VISITOR, 20).decode(raw)["text"] == "a" * 20
    with pytest.raises(MessageTooLong):
        Codec(Endpoint.VISITOR, 19).decode(raw)


def test_encode_is_compact_utf8_json() -> None:
    """Protocol: outbound frames are compact JSON with non-ASCII kept as is."""
    assert encode({"type": "message", "text": "café"}) == '{"type":"message","text":"café"}'
