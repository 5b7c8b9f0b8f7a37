"""Format 2: salted commitments of personal fields in the hash, and erasure that keeps it."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from parley.domain.chain import canonical_json, digest
from parley.domain.erasure import commitment_problem, erase, erased_fields
from parley.domain.transcript import (
    GENESIS,
    PERSONAL,
    Author,
    Event,
    EventType,
    Role,
    commitment,
    seal,
    verify_chain,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 9, 1, 8, 30, 0, tzinfo=UTC)
VISITOR = Author(Role.VISITOR, "v_1")
AGENT = Author(Role.AGENT, "a_1", "Ada")
QUOTED = [{"seq": 2, "text": "you idiot"}]


def event(type: EventType = EventType.MESSAGE, data: dict | None = None, seq: int = 2) -> Event:
    return seal(
        conversation_id="c_abcdefgh",
        seq=seq,
        prev_hash="1" * 64,
        type=type,
        at=T0,
        author=VISITOR,
        data=data if data is not None else {"text": "hello, my name is Ann"},
        client_id="m1",
    )


def warning() -> Event:
    data = {"clause": {"id": "4.1"}, "note": "insults", "messages": QUOTED, "notice": "“you”"}
    return event(EventType.WARNING, data)


def test_a_new_event_hashes_the_salted_commitment_not_the_value() -> None:
    """The hash covers SHA-256(salt bytes ‖ canonical JSON of the value), written down here
    from scratch as an independent verifier would."""
    e = event()
    salt = e.salts["text"]
    assert len(bytes.fromhex(salt)) == 16
    committed = hashlib.sha256(bytes.fromhex(salt) + b'"hello, my name is Ann"').hexdigest()
    body = {
        "format": 2, "conversation_id": "c_abcdefgh", "seq": 2, "type": "message",
        "at": "2026-03-01T12:00:00.000Z", "author": {"role": "visitor", "id": "v_1", "name": None},
        "data": {}, "commitments": {"text": committed}, "client_id": "m1", "prev_hash": "1" * 64,
    }  # fmt: skip
    assert e.hash == hashlib.sha256(canonical_json(body)).hexdigest()
    assert "hello" not in canonical_json(e.body()).decode()


def test_each_field_gets_its_own_fresh_salt() -> None:
    a, b = event(EventType.ACCEPTANCE, {"ip": "203.0.113.9", "user_agent": None, "page_url": "x",
                                         "locale": "fr"}), event()  # fmt: skip
    assert set(a.salts) == {"ip", "user_agent", "page_url"}
    assert len({*a.salts.values(), *b.salts.values()}) == 4
    assert a.body()["data"] == {"locale": "fr"}, "what is not personal is hashed as it is"
    assert event().hash != event().hash, "the same message twice commits differently"


def test_lists_and_nulls_are_committed_as_their_canonical_json() -> None:
    w = warning()
    assert set(w.salts) == {"note", "messages", "notice"}
    expected = hashlib.sha256(bytes.fromhex(w.salts["messages"]) + canonical_json(QUOTED))
    assert w.commitments()["messages"] == expected.hexdigest()
    none = event(EventType.RESOLVED, {"note": None})
    assert none.commitments()["note"] == commitment(none.salts["note"], None)


def test_every_personal_field_of_every_type_is_committed() -> None:
    for type, names in PERSONAL.items():
        e = event(type, dict.fromkeys(names, "x"))
        assert set(e.body()["commitments"]) == names
        assert e.body()["data"] == {}


def test_a_changed_value_or_salt_no_longer_matches_the_hash() -> None:
    e = event()
    assert e.computed_hash() == e.hash
    assert replace(e, data={"text": "hello, my name is Bob"}).computed_hash() != e.hash
    assert replace(e, salts={"text": "00" * 16}).computed_hash() != e.hash


def test_moving_a_field_out_of_its_commitment_changes_the_hash() -> None:
    """A committed field passed off as a plain value hashes differently: the body keeps
    ``data`` and ``commitments`` apart."""
    e = event()
    plain = replace(e, data={"text": e.commitments()["text"]}, salts={})
    assert plain.computed_hash() != e.hash


def test_format_1_events_hash_every_field_as_before() -> None:
    """Events written before commitments keep their hash: all fields but ``hash``."""
    e = event()
    old = Event(e.conversation_id, e.seq, e.type, e.at, e.author, e.data, e.client_id, e.prev_hash)
    old = replace(old, hash=digest({k: v for k, v in old.to_dict().items() if k != "hash"}))
    assert "format" not in old.to_dict()
    assert old.computed_hash() == old.hash
    assert Event.from_dict(old.to_dict()) == old


def test_erase_drops_value_and_salt_keeps_the_hash_and_says_who() -> None:
    e = warning()
    gone = erase(e, ["note", "messages"], at=T1, by="s_dpo", basis="GDPR Art. 17 request #12")
    assert gone.hash == e.hash and gone.computed_hash() == e.hash
    assert gone.data["note"] is None and gone.data["messages"] is None
    assert gone.data["notice"] == "“you”" and set(gone.salts) == {"notice"}
    assert gone.erased["note"] == {
        "commitment": e.commitments()["note"], "at": "2026-09-01T08:30:00.000Z",
        "by": "s_dpo", "basis": "GDPR Art. 17 request #12",
    }  # fmt: skip
    assert [f.field for f in erased_fields(gone)] == ["messages", "note"]
    assert erased_fields(gone)[0].to_dict() == {
        "seq": 2, "field": "messages", "at": "2026-09-01T08:30:00.000Z", "by": "s_dpo",
        "basis": "GDPR Art. 17 request #12",
    }  # fmt: skip
    assert erased_fields(e) == []
    assert commitment_problem(gone) is None
    assert Event.from_dict(gone.to_dict()) == gone
    assert "you idiot" not in str(gone.to_dict())


def test_erasing_again_keeps_the_first_erasure() -> None:
    once = erase(event(), ["text"], at=T0, by="retention", basis="resolved: 90 days")
    twice = erase(once, ["text"], at=T1, by="s_dpo", basis="request")
    assert twice == once


def test_an_erased_event_still_chains() -> None:
    first = seal(conversation_id="c_abcdefgh", seq=1, prev_hash=GENESIS, type=EventType.MESSAGE,
                 at=T0, author=VISITOR, data={"text": "a"}, client_id="m1")  # fmt: skip
    second = seal(conversation_id="c_abcdefgh", seq=2, prev_hash=first.hash,
                  type=EventType.MESSAGE, at=T0, author=AGENT, data={"text": "b"})  # fmt: skip
    assert verify_chain([erase(first, ["text"], at=T1, by="s", basis="b"), second]) is None


def test_only_personal_fields_of_format_2_events_can_be_erased() -> None:
    with pytest.raises(ValueError, match="no personal field locale"):
        erase(event(EventType.ACCEPTANCE, {"ip": "x", "locale": "fr"}), ["locale"], at=T1,
              by="s", basis="b")  # fmt: skip
    e = event()
    old = Event(e.conversation_id, e.seq, e.type, e.at, e.author, e.data, e.client_id, e.prev_hash)
    with pytest.raises(ValueError, match="format 1"):
        erase(old, ["text"], at=T1, by="s", basis="b")


def test_commitment_problems_are_named() -> None:
    e = event()
    gone = erase(e, ["text"], at=T1, by="s", basis="b")
    record = gone.erased["text"]
    cases = {
        "not at least 16 bytes": replace(e, salts={"text": "ab" * 15}),
        "not its personal fields": replace(e, salts={}),
        "both salted and erased": replace(gone, salts=e.salts),
        "still holds a value": replace(gone, data={"text": "back"}),
        "malformed": replace(gone, erased={"text": {**record, "commitment": "xyz"}}),
    }
    for problem, broken in cases.items():
        assert problem in (commitment_problem(broken) or ""), problem
    extra = replace(gone, erased={"text": {**record, "why": "?"}})
    assert "malformed" in (commitment_problem(extra) or "")
