"""The ``erased`` event through the verifier: the one event allowed after the ending, and only
when it names fields that are erased in events before it.

A real closed bundle has fields erased with the domain's :func:`erase`, then an erasure
record appended with :func:`record_erasure` and its head anchored in a one-leaf log signed by
a new key, as a server that erased it would export it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.domain import conversation as rules
from parley.domain.anchor import Checkpoint, Leaf, key_id, sign
from parley.domain.audit import OPERATOR
from parley.domain.erasure import erase, record_erasure
from parley.domain.transcript import Author, Event, Role
from parley.evidence.verify import verify

Bundle = dict[str, Any]
AT = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
BASIS = "GDPR Art. 17, request 2026-041"
SHOUT = 3


def appended(bundle: Bundle, t: rules.Transition) -> Bundle:
    """``bundle`` with ``t``'s event at the end of its transcript and its head re-anchored."""
    bundle["transcript"].append(t.event.to_dict())
    bundle["conversation"] = t.conversation.to_dict()
    return bundle


def anchored(bundle: Bundle) -> tuple[Bundle, bytes]:
    """``bundle`` with its last event anchored in a one-leaf log signed by a new key."""
    last = bundle["transcript"][-1]
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    anchor = bundle["anchor"]
    anchor["leaf"].update(head_hash=last["hash"], seq=last["seq"])
    leaf = Leaf(**anchor["leaf"])
    checkpoint = Checkpoint(anchor["checkpoint"]["origin"], 1, leaf.hash().hex(),
                            anchor["checkpoint"]["at"], key_id(public))  # fmt: skip
    anchor.update(leaf_index=0, inclusion_proof=[], checkpoint=checkpoint.to_dict(), note=None,
                  timestamp=None, signature=sign(key, checkpoint))  # fmt: skip
    return bundle, public


def with_text_erased(bundle: Bundle) -> Bundle:
    shout = Event.from_dict(bundle["transcript"][SHOUT])
    bundle["transcript"][SHOUT] = erase(shout, ["text"], at=AT, by="s_dpo", basis=BASIS).to_dict()
    return bundle


def conversation_of(bundle: Bundle) -> rules.Conversation:
    return rules.Conversation.from_dict(bundle["conversation"])


def test_an_erasure_record_after_the_ending_verifies(closed_bundle: Bundle) -> None:
    bundle = with_text_erased(closed_bundle)
    t = record_erasure(conversation_of(bundle), {SHOUT + 1: ["text"]}, basis=BASIS,
                       by=OPERATOR, at=AT)  # fmt: skip
    bundle, public = anchored(appended(bundle, t))
    report = verify(bundle, public)
    assert report.ok, report.failure
    assert bundle["transcript"][-1]["type"] == "erased"
    assert bundle["conversation"]["state"] == "closed", "still ended, by the same closure"
    assert [(f.seq, f.field) for f in report.erased] == [(SHOUT + 1, "text")]


def test_any_other_event_after_the_ending_is_refused(closed_bundle: Bundle) -> None:
    conv = conversation_of(closed_bundle)
    joined = rules.append_event(conv, rules.EventType.AGENT_JOINED,
                                Author(Role.AGENT, "s_late", "Late"), AT, {})  # fmt: skip
    bundle, public = anchored(appended(closed_bundle, joined))
    bundle["agents"].append({"id": "s_late", "name": "Late"})
    report = verify(bundle, public)
    assert not report.ok
    assert report.failure == f"event {joined.event.seq} comes after the conversation ended"


def test_a_record_naming_a_field_that_was_not_erased_is_refused(closed_bundle: Bundle) -> None:
    """A record cannot claim an erasure the transcript does not show."""
    t = record_erasure(conversation_of(closed_bundle), {SHOUT + 1: ["text"]}, basis=BASIS,
                       by=OPERATOR, at=AT)  # fmt: skip
    bundle, public = anchored(appended(closed_bundle, t))
    report = verify(bundle, public)
    assert not report.ok
    assert report.failure == (
        f"event {t.event.seq}: it records text of event {SHOUT + 1} as erased, "
        "but the event still holds them"
    )
