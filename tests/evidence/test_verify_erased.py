"""Bundles of transcript format 2 with erased fields, and of format 1, through the verifier.

The real bundles of ``conftest.py`` are in format 2. Erasing personal fields with
the domain's :func:`erase` leaves every hash, the anchor and the signature as
they were: the bundle still verifies and the report names what was erased. The
values that remain are still bound: a value or salt changed, an erased value put
back, a commitment swapped — each is refused. A format-1 bundle (as exported
before commitments) still verifies.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness import parley
from parley.domain.anchor import Checkpoint, Leaf, key_id, sign
from parley.domain.erasure import erase
from parley.domain.transcript import Event
from parley.evidence.verify import verify

Bundle = dict[str, Any]
AT = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
BASIS = "GDPR Art. 17, request 2026-041"
#: Indexes (seq - 1) in the closed bundle: a shouted message the warning quotes, the warning.
SHOUT, WARNING, CLOSING = 3, 8, 10


def erased(bundle: Bundle, fields: dict[int, list[str]]) -> Bundle:
    """``bundle`` with ``fields`` of the events at those indexes erased in the store's way,
    and the copies (acceptance, closure) exported from them again."""
    for i, names in fields.items():
        event = Event.from_dict(bundle["transcript"][i])
        bundle["transcript"][i] = erase(event, names, at=AT, by="s_dpo", basis=BASIS).to_dict()
    first, last = bundle["transcript"][0], bundle["transcript"][-1]
    bundle["acceptance"] = {**bundle["acceptance"], **first["data"]}
    if bundle["closure"] is not None:
        bundle["closure"] = copy.deepcopy(last)
    return bundle


def test_a_bundle_with_erased_fields_still_verifies_and_says_what_was_erased(
    closed_bundle: Bundle, public_key: bytes
) -> None:
    heads = [e["hash"] for e in closed_bundle["transcript"]]
    bundle = erased(closed_bundle, {0: ["ip", "user_agent"], SHOUT: ["text"],
                                    WARNING: ["messages", "notice"]})  # fmt: skip
    assert [e["hash"] for e in bundle["transcript"]] == heads
    assert (
        bundle["acceptance"]["ip"] is None and bundle["transcript"][SHOUT]["data"]["text"] is None
    )
    report = verify(bundle, public_key)
    assert report.ok, report.failure
    assert [(f.seq, f.field, f.by, f.basis) for f in report.erased] == [
        (1, "ip", "s_dpo", BASIS), (1, "user_agent", "s_dpo", BASIS), (4, "text", "s_dpo", BASIS),
        (9, "messages", "s_dpo", BASIS), (9, "notice", "s_dpo", BASIS),
    ]  # fmt: skip
    assert {f.at for f in report.erased} == {"2026-09-01T08:30:00.000Z"}
    assert verify(closed_bundle, public_key).ok


def test_a_quoted_message_erased_alone_leaves_the_quote_unchecked_but_the_rest(
    closed_bundle: Bundle, public_key: bytes
) -> None:
    """The warning still quotes the message the transcript no longer holds: nothing to
    compare it with, so it passes; the other quotes and the notice are still checked."""
    bundle = erased(closed_bundle, {SHOUT: ["text"]})
    assert verify(bundle, public_key).ok
    bundle["transcript"][CLOSING]["data"]["notice"] += "!"
    bundle["closure"] = copy.deepcopy(bundle["transcript"][CLOSING])
    assert not verify(bundle, public_key).ok


def refused(bundle: Bundle, public_key: bytes, failure: str) -> None:
    report = verify(bundle, public_key)
    assert not report.ok, "the altered bundle verified"
    assert failure in (report.failure or ""), report.failure


def test_what_remains_of_an_erased_event_is_still_bound(
    closed_bundle: Bundle, public_key: bytes
) -> None:
    bundle = erased(closed_bundle, {SHOUT: ["text"], 0: ["ip"]})
    cases = {
        "the value put back": (lambda e: e["data"].update(text="WHERE?"), "still holds a value"),
        "the value and a salt put back": (
            lambda e: (e["data"].update(text="WHERE?"), e["salts"].update(text="ab" * 16),
                       e["erased"].pop("text")),
            "event 4 was altered",
        ),
        "the commitment swapped": (
            lambda e: e["erased"]["text"].update(commitment="ab" * 32), "event 4 was altered"
        ),
        "the erasure record malformed": (
            lambda e: e["erased"]["text"].update(commitment="not hex"), "is malformed"
        ),
        "the erasure record extended": (
            lambda e: e["erased"]["text"].update(why="x"), "is malformed"
        ),
    }  # fmt: skip
    for name, (change, failure) in cases.items():
        altered = copy.deepcopy(bundle)
        change(altered["transcript"][SHOUT])
        report = verify(altered, public_key)
        assert not report.ok and failure in (report.failure or ""), (name, report.failure)
    changed = copy.deepcopy(bundle)
    changed["transcript"][1]["data"]["text"] += "."
    refused(changed, public_key, "event 2 was altered")
    salted = copy.deepcopy(bundle)
    salt = salted["transcript"][1]["salts"]["text"]
    salted["transcript"][1]["salts"]["text"] = salt[:-1] + ("1" if salt[-1] == "0" else "0")
    refused(salted, public_key, "event 2 was altered")
    short = copy.deepcopy(bundle)
    short["transcript"][1]["salts"]["text"] = salt[:30]
    refused(short, public_key, "is not at least 16 bytes in hex")
    plain = copy.deepcopy(bundle)
    del plain["transcript"][1]["salts"]["text"]
    refused(plain, public_key, "its committed fields are not its personal fields")


def test_the_cli_lists_the_erased_fields(closed_bundle: Bundle, tmp_path: Path) -> None:
    path = tmp_path / "erased.json"
    path.write_text(json.dumps(erased(closed_bundle, {SHOUT: ["text"]})), encoding="utf-8")
    out = parley("evidence", "verify", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"erased: event 4 text, at 2026-09-01T08:30:00.000Z by s_dpo ({BASIS})" in out.stdout


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def as_format_1(bundle: Bundle) -> tuple[Bundle, bytes]:
    """``bundle`` as a server before commitments would have exported it: every event
    hashed whole, the head anchored in a one-leaf log signed by a new key."""
    previous = "0" * 64
    for e in bundle["transcript"]:
        for key in ("format", "salts", "erased"):
            del e[key]
        e["prev_hash"] = previous
        e["hash"] = previous = hashlib.sha256(
            canonical({k: v for k, v in e.items() if k != "hash"})
        ).hexdigest()
    first, last = bundle["transcript"][0], bundle["transcript"][-1]
    bundle["conversation"]["head_hash"] = last["hash"]
    bundle["acceptance"]["event_hash"] = first["hash"]
    bundle["closure"] = copy.deepcopy(last)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    anchor = bundle["anchor"]
    anchor["leaf"]["head_hash"] = last["hash"]
    leaf = Leaf(**anchor["leaf"])
    checkpoint = Checkpoint(anchor["checkpoint"]["origin"], 1, leaf.hash().hex(),
                            anchor["checkpoint"]["at"], key_id(public))  # fmt: skip
    anchor.update(leaf_index=0, inclusion_proof=[], checkpoint=checkpoint.to_dict(), note=None,
                  timestamp=None, signature=sign(key, checkpoint))  # fmt: skip
    return bundle, public


def test_a_format_1_bundle_still_verifies_and_cannot_be_erased(
    closed_bundle: Bundle,
) -> None:
    bundle, public = as_format_1(closed_bundle)
    report = verify(bundle, public)
    assert report.ok, report.failure
    assert report.erased == ()
    bundle["transcript"][1]["data"]["text"] += "."
    assert (
        verify(bundle, public).failure == "event 2 was altered: its content does not match its hash"
    )
