"""Decoding inbound frames (invariant 7: bad input changes nothing, it gets a typed error)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parley.errors import BadJson, InvalidFrame, MessageTooLong, UnknownType
from parley.protocol.codec import (
    MAX_DEPTH,
    MAX_NUMBER,
    Codec,
    Endpoint,
    encode,
    parse,
    request_context,
    validators,
)

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
        {"type": "accept", "policy_id": "conduct", "version": 1, "sha256": SHA, "language": "de"},
        {"type": "language", "language": "de"},
        {"type": "language", "language": "pt-BR"},
        {"type": "language", "language": "zh-Hant-TW"},
        {"type": "message", "client_id": "m-1", "text": "Hello, my order is late"},
        {"type": "message", "client_id": "A.b_c:d-9", "text": "  ünïcödé — 日本  "},
        {"type": "hello", "presence": True},
        {"type": "heartbeat", "idle": False},
        {"type": "heartbeat", "idle": True},
        {"type": "contact", "client_id": "k-1", "email": "ada@example.com"},
        {"type": "typing", "state": True},
        {"type": "typing", "state": False, "conversation_id": CONV},
        {"type": "read", "conversation_id": CONV, "seq": 4},
        {"type": "receipts"},
        {"type": "receipts", "conversation_id": CONV},
        {"type": "ping"},
    ],
    Endpoint.AGENT: [
        {"type": "hello", "token": "at_secret"},
        {"type": "hello", "token": "at_secret", "presence": True, "list_updates": "delta"},
        {"type": "presence", "state": "available"},
        {"type": "presence", "state": "away"},
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
        {"type": "typing", "conversation_id": CONV, "state": True},
        {"type": "read", "conversation_id": CONV, "seq": 12},
        {"type": "ping"},
        {"type": "claim", "conversation_id": CONV},
        {"type": "transfer", "conversation_id": CONV, "to": "s_FRY_7HZM3BGAO04Qzrc1ow"},
        {"type": "release", "conversation_id": CONV},
        {"type": "observe", "conversation_id": CONV},
        {"type": "observe", "conversation_id": CONV, "last_seq": 3},
        {"type": "staff"},
        {"type": "read_transcript", "conversation_id": CONV},
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
    "language",
    ["", "d", "deutsch", "de_DE", "de-", "-de", "de--AT", "de-ABCDEFGHI", "d3", "de AT",
     "de-" + "a" * 33, "*", 49, None, ["de"], {"tag": "de"}],
)  # fmt: skip
def test_a_language_that_is_not_a_tag_is_invalid(language: Any) -> None:
    """A language frame, or an accept, names a BCP 47 tag of at most 35 characters."""
    for frame in (
        {"type": "language", "language": language},
        {"type": "accept", "policy_id": "conduct", "version": 1, "sha256": SHA,
         "language": language},
    ):  # fmt: skip
        assert_invalid(Endpoint.VISITOR, json.dumps(frame), "$.language")


def test_a_language_frame_names_one_language_and_nothing_else() -> None:
    assert_invalid(Endpoint.VISITOR, json.dumps({"type": "language"}), "$")
    extra = {"type": "language", "language": "de", "policy_id": "conduct"}
    assert_invalid(Endpoint.VISITOR, json.dumps(extra), "$")


@pytest.mark.parametrize(
    "endpoint, frame, path",
    [
        (Endpoint.VISITOR, {"type": "message", "client_id": "m1\n", "text": "hi"}, "$.client_id"),
        (Endpoint.VISITOR, {"type": "language", "language": "de\n"}, "$.language"),
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


# ---------------------------------------------------------------- what the server cannot carry


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "raw",
    [
        r'{"type": "\ud800"}',
        r'{"type": "message", "client_id": "\udfff", "text": "hi"}',
        r'{"type": "message", "client_id": "m1", "text": "hi \ud83d there"}',
        r'{"type": "reply", "conversation_id": "c_\ud800bcdefgh", "client_id": "r1", "text": "x"}',
        r'{"type": "ping", "\ud800": 1}',
    ],
    ids=["type", "client-id", "text", "conversation-id", "key"],
)
def test_a_lone_surrogate_anywhere_is_bad_json(endpoint: Endpoint, raw: str) -> None:
    """Invariant 7: a "\\ud800" escape decodes to no Unicode text; it cannot be stored, hashed or
    echoed, so the frame is refused as bad_json before anything reads it."""
    with pytest.raises(BadJson):
        codec(endpoint).decode(raw)


def test_a_surrogate_pair_is_one_character_and_decodes() -> None:
    """Protocol: an escaped pair is a valid character (here 😀) and reaches the session."""
    frame = codec(Endpoint.VISITOR).decode(
        r'{"type":"message","client_id":"m1","text":"\ud83d\ude00"}'
    )
    assert frame["text"] == "\U0001f600"


def nested(depth: int) -> str:
    """A ping whose extra field holds arrays nested so the frame is ``depth`` levels deep."""
    return '{"type": "ping", "x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_nesting_deeper_than_the_limit_is_bad_json(endpoint: Endpoint, depth: int) -> None:
    """Invariant 7: deep nesting is refused before the schema (whose messages repr the value)."""
    with pytest.raises(BadJson):
        codec(endpoint).decode(nested(depth))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_nesting_within_the_limit_reaches_the_schema(endpoint: Endpoint) -> None:
    """Invariant 7: a frame just within the depth limit is judged by its schema (extra field)."""
    assert_invalid(endpoint, nested(MAX_DEPTH), "'x'")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    "number",
    [MAX_NUMBER + 1, -(MAX_NUMBER + 1), 2**63, 2**64, 10**30, "1e300", "-1e300"],
    ids=["2^53", "-2^53", "2^63", "2^64", "10^30", "1e300", "-1e300"],
)
def test_a_number_beyond_2_53_anywhere_is_bad_json(endpoint: Endpoint, number: object) -> None:
    """Invariant 7: numbers beyond 2**53 - 1 never reach a schema or a store (SQLite overflows
    at 2**63), wherever they are: a known field, a list, an unknown field."""
    raws = [
        f'{{"type": "join", "conversation_id": "{CONV}", "last_seq": {number}}}',
        f'{{"type": "warn", "conversation_id": "{CONV}", "clause_id": "1.1", '
        f'"message_seqs": [{number}]}}',
        f'{{"type": "ping", "n": {number}}}',
    ]
    for raw in raws:
        with pytest.raises(BadJson, match="beyond"):
            codec(endpoint).decode(raw)


def test_the_largest_number_is_accepted_where_a_seq_is() -> None:
    """Protocol: 2**53 - 1 is a valid seq (a join past the end is taken as the end)."""
    raw = f'{{"type": "join", "conversation_id": "{CONV}", "last_seq": {MAX_NUMBER}}}'
    assert codec(Endpoint.AGENT).decode(raw)["last_seq"] == MAX_NUMBER


@pytest.mark.parametrize(
    "endpoint, raw, path",
    [
        (
            Endpoint.AGENT,
            f'{{"type": "join", "conversation_id": "{CONV}", "last_seq": 2.0}}',
            "$.last_seq",
        ),
        (
            Endpoint.AGENT,
            f'{{"type": "warn", "conversation_id": "{CONV}", "clause_id": "1.1", '
            '"message_seqs": [1e1]}',
            "$.message_seqs[0]",
        ),
        (
            Endpoint.VISITOR,
            f'{{"type": "accept", "policy_id": "conduct", "version": 1.0, "sha256": "{SHA}"}}',
            "$.version",
        ),
        (
            Endpoint.VISITOR,
            f'{{"type": "hello", "resume": {{"conversation_id": "{CONV}", "last_seq": 0.0}}}}',
            "$.resume.last_seq",
        ),
    ],
    ids=["join-last-seq", "message-seqs", "accept-version", "resume-last-seq"],
)
def test_an_integer_written_as_a_float_is_invalid(endpoint: Endpoint, raw: str, path: str) -> None:
    """Invariant 7: 2.0 or 1e1 is not an integer here: a float seq would reach the store (Redis
    refuses it in a range, so the client would be told `unavailable`)."""
    assert_invalid(endpoint, raw, path, "integer")


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "hello", "resume": {"conversation_id": "' + CONV + '", "last_seq": -1}}',
        '{"type": "accept", "policy_id": "conduct", "version": 0, "sha256": "' + SHA + '"}',
    ],
    ids=["negative-last-seq", "version-0"],
)
def test_numbers_below_their_minimum_are_invalid(raw: str) -> None:
    """Invariant 7: a seq is never negative and a version starts at 1."""
    with pytest.raises(InvalidFrame):
        codec(Endpoint.VISITOR).decode(raw)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_error_message_quoting_the_frame_is_clipped(endpoint: Endpoint) -> None:
    """Invariant 7: a refusal quoting a huge client value stays short (the value is not echoed
    whole in the error frame)."""
    long_name = "k" * 20_000
    with pytest.raises(InvalidFrame) as invalid:
        codec(endpoint).decode(json.dumps({"type": "ping", long_name: 1}))
    with pytest.raises(UnknownType) as unknown:
        codec(endpoint).decode(json.dumps({"type": "t" * 20_000}))
    assert len(str(invalid.value)) <= 300
    assert len(str(unknown.value)) <= 300


def test_request_context_echoes_short_strings_of_a_parsed_frame_only() -> None:
    """Protocol: an error names the request it answers, never a long or non-string value, and a
    frame that did not parse gets no context."""
    frame = parse(json.dumps({"type": "message", "client_id": "m1", "conversation_id": 5}))
    assert request_context(frame) == {"request": "message", "client_id": "m1"}
    assert request_context(parse(json.dumps({"type": "x" * 65, "client_id": ""}))) == {}
    assert request_context(None) == {}
