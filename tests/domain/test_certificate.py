"""Erasure certificates: signed over RFC 8785 canonical JSON, checked with the key given, and
held against a bundle's transcript."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.domain import certificate
from parley.domain.audit import OPERATOR

KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes_raw()
AT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
COMMITMENT = "ab" * 32
TRANSCRIPT: list[dict[str, Any]] = [
    {"conversation_id": "c_1", "seq": 1, "hash": "11" * 32, "type": "acceptance", "erased": {}},
    {"conversation_id": "c_1", "seq": 2, "hash": "22" * 32, "type": "message",
     "erased": {"text": {"commitment": COMMITMENT}}},
    {"conversation_id": "c_1", "seq": 3, "hash": "33" * 32, "type": "erased", "erased": {}},
]  # fmt: skip


def issued() -> dict[str, Any]:
    body = certificate.body(
        visitor_id="v_1", basis="Art. 17", by=OPERATOR, issued_at=AT, audit_seq=9,
        public_key=PUBLIC,
        conversations=[{"conversation_id": "c_1", "records": [3], "not_erasable": [],
                        "erased": [{"seq": 2, "event_hash": "22" * 32,
                                    "fields": {"text": COMMITMENT}}]}],
        held=[{"conversation_id": "c_2", "holds": ["h_1"]}], bars=["b_1"],
    )  # fmt: skip
    return certificate.issue(KEY, body)


def test_a_certificate_holds_under_its_key_and_no_other() -> None:
    signed = issued()
    assert certificate.problems(signed, PUBLIC) == []
    assert signed["certificate"]["issued_at"] == "2027-01-04T09:00:00.000Z"
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    found = certificate.problems(signed, other)
    assert any(p.startswith("key_id:") for p in found)
    assert any(p.startswith("signature:") for p in found)


def test_any_change_to_what_it_says_breaks_the_signature() -> None:
    for change in (
        lambda b: b.update(basis="another basis"),
        lambda b: b["held"].clear(),
        lambda b: b["conversations"][0]["erased"][0]["fields"].update(text="cd" * 32),
    ):
        signed = issued()
        change(signed["certificate"])
        assert certificate.problems(signed, PUBLIC) == [
            "signature: not a valid Ed25519 signature of this certificate by the key given"
        ]


def test_a_malformed_certificate_says_what_is_wrong() -> None:
    assert certificate.problems([], PUBLIC)[0].startswith("a certificate is a JSON object")
    signed = issued()
    del signed["certificate"]["bars"]
    signed["certificate"]["extra"] = 1
    assert certificate.problems(signed, PUBLIC) == [
        "bars: missing", "extra: not a field of a certificate"
    ]  # fmt: skip
    other = issued()
    other["certificate"]["format"] = "parley-receipt/1"
    assert certificate.problems(other, PUBLIC) == [
        "format: 'parley-receipt/1' is not parley-erasure/1"
    ]


def test_a_bundle_holds_the_erasure_or_says_where_it_does_not() -> None:
    body = issued()["certificate"]
    assert certificate.contradictions(body, TRANSCRIPT) == []
    put_back = copy.deepcopy(TRANSCRIPT)
    put_back[1]["erased"] = {}
    assert certificate.contradictions(body, put_back) == [
        f"event 2: text is not erased with commitment {COMMITMENT}"
    ]
    rewritten = copy.deepcopy(TRANSCRIPT)
    rewritten[1]["hash"] = "44" * 32
    rewritten[2]["type"] = "message"
    assert certificate.contradictions(body, rewritten) == [
        f"event 2: not in the bundle with hash {'22' * 32}",
        "event 3: not the erasure record the certificate names",
    ]
    elsewhere = [{**e, "conversation_id": "c_9"} for e in TRANSCRIPT]
    assert certificate.contradictions(body, elsewhere) == [
        "the certificate lists no conversation c_9"
    ]
