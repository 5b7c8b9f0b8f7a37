"""Receipts the visitor keeps: the server's signature over one committed event.

A receipt is ``{"receipt": BODY, "signature": SIG}``, where ``SIG`` is the
base64 of the server's Ed25519 signature over the canonical JSON (RFC 8785,
:func:`parley.domain.chain.canonical_json`) of ``BODY``. The body names the
event — its conversation, seq, hash and type — and repeats what the visitor
must be able to hold the operator to: for an acceptance, the policy version,
the digest of its text and (recorded since policies have translations) the
text's language and the digest of the governing text; for a warning or a
closure, the clause cited and the digest of its text as quoted. Because the
event's hash chains every event before it, a receipt also commits to the whole
transcript up to that event: any later rewrite of it, however well rehashed and
re-signed, contradicts the receipt (:func:`contradictions`).

The body carries the public key for information only: :func:`problems` checks
the signature with the key its caller supplies, never with the one inside.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.domain.anchor import key_id, public_bytes, sign_json, signed_json_problems
from parley.domain.conversation import Conversation
from parley.domain.transcript import Event, EventType, format_time

FORMAT = "parley-receipt/1"

#: The events a visitor is given a receipt of, and the receipt's ``kind`` for each.
KINDS = {
    EventType.ACCEPTANCE: "acceptance",
    EventType.WARNING: "warning",
    EventType.CLOSED: "closure",
}

COMMON = (
    "format", "kind", "conversation_id", "visitor_id", "event_seq", "event_hash", "event_type",
    "issued_at", "key_id", "public_key",
)  # fmt: skip
CITATION = ("clause_id", "clause_sha256", "head_seq", "head_hash")
#: Every field of a body, by kind: exactly these, no more.
FIELDS = {
    "acceptance": frozenset(
        (*COMMON, "policy_id", "version", "text_sha256", "language", "governing_sha256")
    ),
    "warning": frozenset((*COMMON, *CITATION)),
    "closure": frozenset((*COMMON, *CITATION)),
}
#: Fields a body of a kind may lack: receipts issued before translations have none of them.
OPTIONAL = {"acceptance": frozenset(("language", "governing_sha256"))}
HEX64 = re.compile(r"[0-9a-f]{64}")


class ReceiptInvalid(ValueError):
    """A receipt that does not hold: its message names each field or check that fails."""


def sha256_text(text: str) -> str:
    """Hex SHA-256 of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body(
    event: Event, conversation: Conversation, issued_at: datetime, public_key: bytes
) -> dict[str, Any]:
    """What a receipt of ``event`` signs: read from the event only, as it was committed.

    Raises ValueError for an event of another conversation or of a type that gets no receipt.
    """
    kind = KINDS.get(event.type)
    if kind is None:
        raise ValueError(f"a {event.type.value} event gets no receipt")
    if event.conversation_id != conversation.id:
        raise ValueError(f"event of {event.conversation_id}, not of {conversation.id}")
    signed: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "conversation_id": event.conversation_id,
        "visitor_id": conversation.visitor_id,
        "event_seq": event.seq,
        "event_hash": event.hash,
        "event_type": event.type.value,
        "issued_at": format_time(issued_at),
        "key_id": key_id(public_key),
        "public_key": base64.b64encode(public_key).decode(),
    }
    return signed | _particulars(event)


def _particulars(event: Event) -> dict[str, Any]:
    """The fields of one kind: what was accepted, or which clause was cited and how."""
    data = event.data
    if event.type is EventType.ACCEPTANCE:
        translated = {k: data[k] for k in ("language", "governing_sha256") if k in data}
        return {"policy_id": data["policy_id"], "version": data["version"],
                "text_sha256": data["sha256"], **translated}  # fmt: skip
    return {
        "clause_id": data["clause"]["id"],
        "clause_sha256": sha256_text(data["clause"]["text"]),
        # Each event is the head of its transcript when committed: the head right after it.
        "head_seq": event.seq,
        "head_hash": event.hash,
    }


def issue(
    key: Ed25519PrivateKey, event: Event, conversation: Conversation, issued_at: datetime
) -> dict[str, Any]:
    """The signed receipt of ``event``: ``{"receipt": body, "signature": base64}``."""
    signed = body(event, conversation, issued_at, public_bytes(key.public_key()))
    signature = sign_json(key, signed)
    return {"receipt": signed, "signature": signature}


def problems(receipt: Any, public_key: bytes) -> list[str]:
    """What is wrong with ``receipt`` under ``public_key`` (raw 32 bytes); empty if it holds.

    Checks the shape (exactly the fields of its kind, each of its type), that it
    names this key, and the Ed25519 signature over the canonical JSON of the body.
    """
    return signed_json_problems(receipt, "receipt", public_key, _shape)


def verify(receipt: Any, public_key: bytes) -> Mapping[str, Any]:
    """The receipt's body if it holds under ``public_key``; raise ReceiptInvalid naming why not."""
    found = problems(receipt, public_key)
    if found:
        raise ReceiptInvalid("; ".join(found))
    body_: Mapping[str, Any] = receipt["receipt"]
    return body_


def _shape(signed: Mapping[str, Any]) -> list[str]:
    if signed.get("format") != FORMAT:
        return [f"format: {signed.get('format')!r} is not {FORMAT}"]
    kind = signed.get("kind")
    if kind not in FIELDS:
        return [f"kind: {kind!r} is none of {', '.join(FIELDS)}"]
    optional = OPTIONAL.get(kind, frozenset())
    missing = FIELDS[kind] - optional - set(signed)
    extra = set(signed) - FIELDS[kind]
    found = [f"{name}: missing" for name in sorted(missing)]
    found += [f"{name}: not a field of a {kind} receipt" for name in sorted(extra)]
    if found:
        return found
    for name, value in signed.items():
        if name in ("event_seq", "head_seq", "version"):
            ok = type(value) is int and value >= 1
        elif name in (
            "event_hash",
            "head_hash",
            "text_sha256",
            "clause_sha256",
            "governing_sha256",
        ):
            ok = isinstance(value, str) and HEX64.fullmatch(value) is not None
        else:
            ok = isinstance(value, str)
        if not ok:
            found.append(f"{name}: {value!r} is not a valid value")
    return found


def contradictions(
    signed: Mapping[str, Any], conversation_id: str, events: Sequence[Event]
) -> list[str]:
    """Where a transcript disagrees with a verified receipt body; empty if it holds that event.

    ``events`` are a record's transcript of ``conversation_id``. Each problem
    names the field and both values: the receipt's and the transcript's.
    """
    if signed["conversation_id"] != conversation_id:
        return [f"conversation_id: the receipt says {signed['conversation_id']}, "
                f"the record is of {conversation_id}"]  # fmt: skip
    by_seq = {e.seq: e for e in events}
    seq = signed["event_seq"]
    event = by_seq.get(seq)
    if event is None:
        last = max(by_seq, default=0)
        return [f"event_seq: the receipt is of event {seq}, the record's transcript ends at {last}"]
    expected = {"event_hash": event.hash, "event_type": event.type.value}
    if event.type in KINDS:
        expected |= _particulars(event)
    first = by_seq.get(1)
    if first is not None and first.type is EventType.ACCEPTANCE:
        expected["visitor_id"] = first.data["visitor_id"]
    return [
        f"{name}: the receipt says {signed[name]!r}, the record's event {seq} has {value!r}"
        for name, value in expected.items()
        if name in signed and signed[name] != value
    ] + [
        f"{name}: the receipt has it, the record's event {seq} (a {event.type.value}) does not"
        for name in sorted(set(signed) - {*COMMON} - set(expected))
    ]
