"""Visitors' receipts: signed over RFC 8785 JSON, checkable with any Ed25519 tool, and
contradicted by any rewrite of the event they name."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from parley import policy_files
from parley.domain import conversation as rules
from parley.domain import moderation, receipt
from parley.domain.anchor import public_bytes
from parley.domain.chain import canonical_json
from parley.domain.conversation import ClientContext, Conversation
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Author, Event, Role, verify_chain

POLICIES = Path(__file__).resolve().parents[2] / "policies"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
AGENT = Author(Role.AGENT, "s_ada", "Ada")

#: RFC 8032 §7.1, test 1: a published Ed25519 key, so the vector below can be redone anywhere.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
VECTOR_BODY = {
    "format": "parley-receipt/1",
    "kind": "acceptance",
    "conversation_id": "c_dUpvW9JVipfNreoIrbOkdw",
    "visitor_id": "v_6FjhGKBj6X7ryqJkiESSBA",
    "event_seq": 1,
    "event_hash": "da3bafb2ce401930a35805c31cca1d38f6278e43d76b20cbea5f12d586ea5849",
    "event_type": "acceptance",
    "issued_at": "2026-11-23T16:51:10.990Z",
    "key_id": "21fe31dfa154a261",
    "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    "policy_id": "conduct",
    "version": 2,
    "text_sha256": "227f1f03292ead89245e7457dd1fe513bb226594774cbd1a03e7e7823d16f6c5",
    "language": "en",
    "governing_sha256": "227f1f03292ead89245e7457dd1fe513bb226594774cbd1a03e7e7823d16f6c5",
}
VECTOR_SIGNATURE = bytes.fromhex(
    "81ea1adbe1e20c1dae304aa1f2d62fea3bdd4e6d93ccce12782f94b6f1d5bd3d"
    "01c54004e7786d940b33dad3f837b65ca4145c9a17e7c991345327e82d4f8907"
)
#: The bytes signed: sorted keys, no whitespace, UTF-8 (RFC 8785 for these values).
VECTOR_CANONICAL = (
    b'{"conversation_id":"c_dUpvW9JVipfNreoIrbOkdw","event_hash":"da3bafb2ce401930a35805c31cca1d'
    b'38f6278e43d76b20cbea5f12d586ea5849","event_seq":1,"event_type":"acceptance","format":"parl'
    b'ey-receipt/1","governing_sha256":"227f1f03292ead89245e7457dd1fe513bb226594774cbd1a03e7e782'
    b'3d16f6c5","issued_at":"2026-11-23T16:51:10.990Z","key_id":"21fe31dfa154a261","kind":"accep'
    b'tance","language":"en","policy_id":"conduct","public_key":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiM'
    b'lrwIaaPcHURo=","text_sha256":"227f1f03292ead89245e7457dd1fe513bb226594774cbd1a03e7e7823d16'
    b'f6c5","version":2,"visitor_id":"v_6FjhGKBj6X7ryqJkiESSBA"}'
)


@pytest.fixture(scope="module")
def policy() -> PolicyVersion:
    return max(policy_files.load_folder(POLICIES), key=lambda v: v.version)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def transcript(policy: PolicyVersion) -> tuple[Conversation, list[Event]]:
    """Accepted, a message, joined, warned, closed: the conversation after it and its events."""
    started = rules.start(
        conversation_id="c_receipt01", visitor_id="v_receipt01", previous=None, offered=policy,
        answer=policy.ref, client=ClientContext("203.0.113.7", "Mozilla/5.0"), at=T0,
    )  # fmt: skip
    said = rules.visitor_message(started.conversation, "you are useless", "m1", T0)
    joined = rules.agent_join(said.conversation, AGENT, T0 + timedelta(seconds=1))
    assert joined is not None
    clause = policy.clauses[next(iter(policy.clauses))].id
    at = T0 + timedelta(seconds=2)
    warned = moderation.warn(joined.conversation, policy, AGENT, clause, None, [said.event], at)
    closed = moderation.close_for_violation(
        warned.conversation, policy, AGENT, clause, "again", at, [said.event]
    )
    events = [started.event, said.event, joined.event, warned.event, closed.event]
    return closed.conversation, events


def test_vector_a_fixed_key_and_body_give_known_signature_bytes() -> None:
    """Ed25519 is deterministic: anyone can recompute this signature from the RFC 8032 key."""
    key = Ed25519PrivateKey.from_private_bytes(SEED)
    assert public_bytes(key.public_key()) == PUBLIC
    assert canonical_json(VECTOR_BODY) == VECTOR_CANONICAL
    assert key.sign(VECTOR_CANONICAL) == VECTOR_SIGNATURE
    signed = {"receipt": VECTOR_BODY, "signature": base64.b64encode(VECTOR_SIGNATURE).decode()}
    assert receipt.problems(signed, PUBLIC) == []


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


def test_vector_checks_with_plain_openssl_as_the_docs_say(tmp_path: Path) -> None:
    """docs/compliance.md: the Ed25519 public key as DER, the canonical bytes, the raw signature."""
    spki = bytes.fromhex("302a300506032b6570032100") + PUBLIC  # the fixed DER prefix of Ed25519
    (tmp_path / "key.der").write_bytes(spki)
    (tmp_path / "body.json").write_bytes(VECTOR_CANONICAL)
    (tmp_path / "sig.bin").write_bytes(VECTOR_SIGNATURE)
    verify = ["pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "key.der"),
              "-keyform", "DER", "-rawin", "-sigfile", str(tmp_path / "sig.bin")]  # fmt: skip
    good = openssl(*verify, "-in", str(tmp_path / "body.json"))
    assert good.returncode == 0 and "Signature Verified Successfully" in good.stdout, good
    (tmp_path / "body.json").write_bytes(VECTOR_CANONICAL.replace(b'"version":2', b'"version":3'))
    bad = openssl(*verify, "-in", str(tmp_path / "body.json"))
    assert bad.returncode != 0 and "Signature Verification Failure" in bad.stdout, bad


def test_openssl_signs_the_same_bytes_from_the_same_seed(tmp_path: Path) -> None:
    pem = Ed25519PrivateKey.from_private_bytes(SEED).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    (tmp_path / "key.pem").write_bytes(pem)
    (tmp_path / "body.json").write_bytes(VECTOR_CANONICAL)
    sign = subprocess.run(
        ["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", str(tmp_path / "key.pem"),
         "-in", str(tmp_path / "body.json")],
        capture_output=True, check=True,
    )  # fmt: skip
    assert sign.stdout == VECTOR_SIGNATURE


def test_receipts_name_the_stored_events_and_digest_what_they_quote(
    policy: PolicyVersion, key: Ed25519PrivateKey
) -> None:
    conversation, events = transcript(policy)
    accepted, _, _, warned, closed = events
    at = T0 + timedelta(minutes=5)
    public = public_bytes(key.public_key())
    a, w, c = (receipt.issue(key, e, conversation, at) for e in (accepted, warned, closed))
    assert a["receipt"] == {
        "format": "parley-receipt/1", "kind": "acceptance", "conversation_id": "c_receipt01",
        "visitor_id": "v_receipt01", "event_seq": 1, "event_hash": accepted.hash,
        "event_type": "acceptance", "issued_at": "2026-03-01T09:05:00.000Z",
        "key_id": hashlib.sha256(public).hexdigest()[:16],
        "public_key": base64.b64encode(public).decode(), "policy_id": policy.policy_id,
        "version": policy.version,
        "text_sha256": hashlib.sha256(policy.text.encode()).hexdigest(),
        "language": "en", "governing_sha256": policy.sha256,
    }  # fmt: skip
    clause_text = warned.data["clause"]["text"]
    for r, e, kind in ((w, warned, "warning"), (c, closed, "closure")):
        assert r["receipt"]["kind"] == kind and r["receipt"]["event_type"] == e.type.value
        assert r["receipt"]["clause_id"] == e.data["clause"]["id"]
        assert r["receipt"]["clause_sha256"] == hashlib.sha256(clause_text.encode()).hexdigest()
        assert (r["receipt"]["head_seq"], r["receipt"]["head_hash"]) == (e.seq, e.hash)
    for r in (a, w, c):
        assert receipt.problems(r, public) == []
        assert receipt.verify(r, public) == r["receipt"]
        assert receipt.contradictions(r["receipt"], "c_receipt01", events) == []


def test_a_message_gets_no_receipt(policy: PolicyVersion, key: Ed25519PrivateKey) -> None:
    conversation, events = transcript(policy)
    with pytest.raises(ValueError, match="a message event gets no receipt"):
        receipt.issue(key, events[1], conversation, T0)


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    return value[:-1] + ("0" if value[-1] != "0" else "1")


@pytest.mark.parametrize("kind", [0, 3, 4], ids=["acceptance", "warning", "closure"])
def test_changing_any_field_or_the_signature_breaks_the_receipt(
    policy: PolicyVersion, key: Ed25519PrivateKey, kind: int
) -> None:
    conversation, events = transcript(policy)
    signed = receipt.issue(key, events[kind], conversation, T0)
    public = public_bytes(key.public_key())
    for name, value in signed["receipt"].items():
        forged = copy.deepcopy(signed)
        forged["receipt"][name] = changed(value)
        found = receipt.problems(forged, public)
        assert found, f"a receipt with {name} changed still verifies"
        with pytest.raises(receipt.ReceiptInvalid):
            receipt.verify(forged, public)
    sig = base64.b64decode(signed["signature"])
    forged = {**signed, "signature": base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()}
    assert receipt.problems(forged, public) == [
        "signature: not a valid Ed25519 signature of this receipt by the key given"
    ]


def test_another_key_is_named_as_the_problem(policy: PolicyVersion, key: Ed25519PrivateKey) -> None:
    conversation, events = transcript(policy)
    signed = receipt.issue(key, events[0], conversation, T0)
    other = public_bytes(Ed25519PrivateKey.generate().public_key())
    found = receipt.problems(signed, other)
    assert found[0].startswith(f"key_id: the receipt names key {signed['receipt']['key_id']}")
    assert found[-1].startswith("signature: not a valid Ed25519 signature")


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (lambda r: [r], 'exactly "receipt" and "signature"'),
        (lambda r: {**r, "extra": 1}, 'exactly "receipt" and "signature"'),
        (lambda r: {**r, "receipt": "text"}, '"receipt" is not a JSON object'),
        (lambda r: {**r, "receipt": {**r["receipt"], "format": "x/1"}}, "format: 'x/1'"),
        (lambda r: {**r, "receipt": {**r["receipt"], "kind": "chat"}}, "kind: 'chat' is none"),
        (lambda r: {**r, "receipt": {**r["receipt"], "note": ""}}, "note: not a field"),
        (lambda r: {**r, "receipt": {**r["receipt"], "event_seq": "1"}}, "event_seq: '1' is not"),
        (lambda r: {**r, "receipt": {**r["receipt"], "event_hash": 7}}, "event_hash: 7 is not"),
        (lambda r: {**r, "signature": "not base64!"}, "signature: not a valid"),
        (lambda r: {**r, "signature": None}, "signature: not a valid"),
    ],
)
def test_a_malformed_receipt_gets_problems_not_an_exception(
    policy: PolicyVersion, key: Ed25519PrivateKey, mangle: Any, problem: str
) -> None:
    conversation, events = transcript(policy)
    signed = receipt.issue(key, events[0], conversation, T0)
    found = receipt.problems(mangle(signed), public_bytes(key.public_key()))
    assert any(problem in p for p in found), found


def test_a_missing_field_is_named(policy: PolicyVersion, key: Ed25519PrivateKey) -> None:
    conversation, events = transcript(policy)
    signed = receipt.issue(key, events[0], conversation, T0)
    del signed["receipt"]["visitor_id"]
    assert receipt.problems(signed, public_bytes(key.public_key())) == ["visitor_id: missing"]


def rehashed(events: list[Event], seq: int, data: dict[str, Any]) -> list[Event]:
    """The transcript with event ``seq``'s data replaced and every hash from it on recomputed:
    a rewrite that keeps the chain intact."""
    out: list[Event] = []
    for e in events:
        if e.seq == seq:
            e = replace(e, data=data)
        if out:
            e = replace(e, prev_hash=out[-1].hash)
        out.append(replace(e, hash=e.computed_hash()))
    assert verify_chain(out) is None
    return out


def test_a_rewritten_transcript_contradicts_the_receipt_naming_field_and_values(
    policy: PolicyVersion, key: Ed25519PrivateKey
) -> None:
    conversation, events = transcript(policy)
    warned = receipt.issue(key, events[3], conversation, T0)["receipt"]
    softer = {**events[3].data["clause"], "text": "Please be polite."}
    rewritten = rehashed(events, 4, {**events[3].data, "clause": softer})
    found = receipt.contradictions(warned, "c_receipt01", rewritten)
    assert found[0] == (
        f"event_hash: the receipt says {events[3].hash!r}, "
        f"the record's event 4 has {rewritten[3].hash!r}"
    )
    assert any(p.startswith("clause_sha256: the receipt says") for p in found), found
    earlier = rehashed(events, 2, {"text": "you are helpful"})
    assert receipt.contradictions(warned, "c_receipt01", earlier)[0].startswith("event_hash:")
    assert receipt.contradictions(warned, "c_other", events) == [
        "conversation_id: the receipt says c_receipt01, the record is of c_other"
    ]
    assert receipt.contradictions(warned, "c_receipt01", events[:3]) == [
        "event_seq: the receipt is of event 4, the record's transcript ends at 3"
    ]


def test_the_documented_accepted_frame_carries_the_vector_receipt() -> None:
    """docs/protocol.md's `accepted` example verifies under the RFC 8032 key it names."""
    text = (POLICIES.parent / "docs" / "protocol.md").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith('{"type":"accepted"'))
    example = json.loads(line)["receipt"]
    assert example["receipt"] == VECTOR_BODY
    assert receipt.problems(example, PUBLIC) == []
