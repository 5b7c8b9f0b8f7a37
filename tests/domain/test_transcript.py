"""Transcript events and their hash chain (invariant 5: append-only, tamper-evident)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from parley.domain.transcript import (
    GENESIS,
    Author,
    Event,
    EventType,
    Role,
    canonical_json,
    format_time,
    parse_time,
    seal,
    verify_chain,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
VISITOR = Author(Role.VISITOR, "v_1")
AGENT = Author(Role.AGENT, "a_1", "Ada")


def chain(n: int = 4) -> list[Event]:
    """A proper chain of ``n`` events of one conversation."""
    events: list[Event] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        event = seal(
            conversation_id="c_abcdefgh",
            seq=seq,
            prev_hash=prev,
            type=EventType.MESSAGE,
            at=T0 + timedelta(seconds=seq),
            author=VISITOR if seq % 2 else AGENT,
            data={"text": f"message {seq}"},
            client_id=f"m{seq}",
        )
        events.append(event)
        prev = event.hash
    return events


def test_seal_hashes_the_canonical_json_of_the_body() -> None:
    """Invariant 5: an event's hash is sha256(canonical_json(body)), body = all but the hash."""
    event = chain(1)[0]
    assert event.hash == hashlib.sha256(canonical_json(event.body())).hexdigest()
    assert "hash" not in event.body()
    assert event.body()["prev_hash"] == GENESIS
    assert event.at == "2026-03-01T12:00:01.123Z"


def test_the_hash_covers_every_field() -> None:
    """Invariant 5: changing any field of the body changes the hash."""
    event = chain(1)[0]
    variants = [
        replace(event, conversation_id="c_other000"),
        replace(event, seq=2),
        replace(event, type=EventType.CLOSED),
        replace(event, at="2026-03-01T12:00:01.124Z"),
        replace(event, author=Author(Role.AGENT, "v_1")),
        replace(event, author=Author(Role.VISITOR, "v_1", "Vi")),
        replace(event, data={"text": "message 1 "}),
        replace(event, client_id="m2"),
        replace(event, client_id=None),
        replace(event, prev_hash="1" * 64),
    ]
    hashes = {v.computed_hash() for v in variants}
    assert event.hash not in hashes
    assert len(hashes) == len(variants)


def test_verify_chain_accepts_a_proper_chain() -> None:
    """Invariant 5: an untouched transcript verifies."""
    assert verify_chain(chain()) is None
    assert verify_chain([]) is None


def test_verify_chain_detects_an_edited_text() -> None:
    """Invariant 5: an edit of an event's data is detected."""
    events = chain()
    events[2] = replace(events[2], data={"text": "I never said that"})
    assert verify_chain(events) == "event 3 was altered: its content does not match its hash"


def test_verify_chain_detects_an_edit_that_also_rewrites_the_hash() -> None:
    """Invariant 5: re-hashing an edited event breaks the link from the event after it."""
    events = chain()
    edited = replace(events[1], data={"text": "edited"})
    events[1] = replace(edited, hash=edited.computed_hash())
    assert verify_chain(events) == "event 3 does not link to the event before it"


def test_verify_chain_detects_a_deletion() -> None:
    """Invariant 5: a deleted event is detected."""
    events = chain()
    del events[1]
    assert verify_chain(events) is not None
    first_gone = chain()[1:]
    assert verify_chain(first_gone) is not None


def test_verify_chain_detects_an_insertion() -> None:
    """Invariant 5: an inserted event is detected, even one sealed onto the right predecessor."""
    events = chain()
    forged = seal(
        conversation_id="c_abcdefgh",
        seq=3,
        prev_hash=events[1].hash,
        type=EventType.MESSAGE,
        at=T0,
        author=VISITOR,
        data={"text": "forged"},
    )
    events.insert(2, forged)
    assert verify_chain(events) is not None


def test_verify_chain_detects_reordering() -> None:
    """Invariant 5: swapping two events is detected."""
    events = chain()
    events[1], events[2] = events[2], events[1]
    assert verify_chain(events) is not None
    renumbered = chain()
    a, b = renumbered[1], renumbered[2]
    renumbered[1] = replace(b, seq=2, hash=replace(b, seq=2).computed_hash())
    renumbered[2] = replace(a, seq=3, hash=replace(a, seq=3).computed_hash())
    assert verify_chain(renumbered) is not None


def test_verify_chain_requires_seq_numbers_from_1_without_gaps() -> None:
    """Invariant 5: sequence numbers run 1, 2, 3...; a well-linked chain with a gap is refused."""
    events: list[Event] = []
    prev = GENESIS
    for seq in (1, 2, 4):
        event = seal(
            conversation_id="c_abcdefgh",
            seq=seq,
            prev_hash=prev,
            type=EventType.MESSAGE,
            at=T0,
            author=VISITOR,
            data={"text": str(seq)},
        )
        events.append(event)
        prev = event.hash
    assert verify_chain(events) == "event at position 3 has seq 4: one is missing or moved"
    assert verify_chain(events[:2]) is None


def test_verify_chain_detects_a_wrong_prev_hash() -> None:
    """Invariant 5: an event sealed on the wrong predecessor does not link."""
    events = chain()
    bad = seal(
        conversation_id="c_abcdefgh",
        seq=2,
        prev_hash="f" * 64,
        type=EventType.MESSAGE,
        at=T0,
        author=AGENT,
        data={"text": "message 2"},
    )
    events[1] = bad
    assert verify_chain(events) == "event 2 does not link to the event before it"
    first = replace(events[0], prev_hash="f" * 64)
    first = replace(first, hash=first.computed_hash())
    assert verify_chain([first]) == "event 1 does not link to the event before it"


def test_format_time_is_utc_with_milliseconds_and_z() -> None:
    """Transcript time format: RFC 3339, UTC, exactly three fraction digits, 'Z'."""
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC)).endswith("05.999Z")
    early = format_time(datetime(999, 1, 2, tzinfo=UTC))
    assert early == "0999-01-02T00:00:00.000Z", "four digits of year: times sort as strings"
    paris = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 1, 14, 0, 0, 7000, tzinfo=paris)
    assert format_time(local) == "2026-06-01T12:00:00.007Z"


def test_parse_time_inverts_format_time() -> None:
    """Transcript time format: parse_time(format_time(t)) is t to the millisecond, in UTC."""
    text = format_time(T0)
    assert parse_time(text) == T0.replace(microsecond=123000)
    assert parse_time(text).tzinfo is UTC
    assert format_time(parse_time(text)) == text


def test_canonical_json_sorts_keys_and_is_compact() -> None:
    """Invariant 5: the hashed bytes do not depend on key order or whitespace."""
    value = {"b": [1, {"z": None, "a": True}], "a": "x"}
    assert canonical_json(value) == b'{"a":"x","b":[1,{"a":true,"z":null}]}'
    assert canonical_json(dict(reversed(list(value.items())))) == canonical_json(value)


def test_canonical_json_keeps_non_ascii_as_utf8() -> None:
    """Invariant 5: text is hashed as UTF-8, not as \\u escapes."""
    assert canonical_json({"t": "café — 日本"}) == '{"t":"café — 日本"}'.encode()


def test_event_dict_round_trip() -> None:
    """Invariant 5: an exported event reads back equal, and its hash still verifies."""
    for event in chain():
        exported = json.loads(json.dumps(event.to_dict()))
        again = Event.from_dict(exported)
        assert again == event
        assert again.computed_hash() == event.hash
    assert verify_chain([Event.from_dict(e.to_dict()) for e in chain()]) is None


def test_event_dict_holds_the_author_and_the_hash() -> None:
    """Transcript export format: every field of the body plus the hash; in format 2 the
    values in place of their commitments, their salts and the erasures."""
    event = chain(2)[1]
    d = event.to_dict()
    assert d["author"] == {"role": "agent", "id": "a_1", "name": "Ada"}
    assert d["type"] == "message"
    assert d["hash"] == event.hash
    assert d["format"] == 2
    assert set(d) == {*event.body(), "hash", "salts", "erased"} - {"commitments"}
