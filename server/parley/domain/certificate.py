"""Erasure certificates: the server's signature over what an erasure request erased.

A certificate is ``{"certificate": BODY, "signature": SIG}``, signed like a receipt
(:mod:`parley.domain.receipt`): ``SIG`` is the base64 of the server's Ed25519
signature over the canonical JSON (RFC 8785) of ``BODY``. The body names the
visitor, the basis, who asked and when, and for each conversation every field
erased by then with its event's hash and the field's commitment (what the chain
still proves was there), the seqs of the ``erased`` events that record it and the
format-1 events that could not be erased; the conversations a legal hold kept
untouched; the bars whose reasons (and, once no longer in force, addresses) were
erased. Given an evidence bundle of one of those conversations,
:func:`contradictions` says where it disagrees with the certificate.

The body carries the public key for information only: :func:`problems` checks the
signature with the key its caller supplies, never with the one inside.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.domain.anchor import key_id, sign_json, signed_json_problems
from parley.domain.audit import Actor
from parley.domain.transcript import format_time

FORMAT = "parley-erasure/1"
FIELDS = frozenset(
    {"format", "visitor_id", "basis", "erased_by", "issued_at", "audit_seq", "key_id",
     "public_key", "conversations", "held", "bars"}
)  # fmt: skip
CONVERSATION_FIELDS = frozenset({"conversation_id", "erased", "records", "not_erasable"})


def body(
    *,
    visitor_id: str,
    basis: str,
    by: Actor,
    issued_at: datetime,
    audit_seq: int,
    public_key: bytes,
    conversations: Sequence[Mapping[str, Any]],
    held: Sequence[Mapping[str, Any]],
    bars: Sequence[str],
) -> dict[str, Any]:
    """What a certificate signs. ``conversations`` are ``{"conversation_id", "erased",
    "records", "not_erasable"}`` (``erased``: ``[{"seq", "event_hash", "fields": {name:
    commitment}}]``); ``held`` are ``{"conversation_id", "holds"}``; ``bars`` are bar ids."""
    return {
        "format": FORMAT,
        "visitor_id": visitor_id,
        "basis": basis,
        "erased_by": by.to_dict(),
        "issued_at": format_time(issued_at),
        "audit_seq": audit_seq,
        "key_id": key_id(public_key),
        "public_key": base64.b64encode(public_key).decode(),
        "conversations": [dict(c) for c in conversations],
        "held": [dict(h) for h in held],
        "bars": list(bars),
    }


def issue(key: Ed25519PrivateKey, signed: Mapping[str, Any]) -> dict[str, Any]:
    """``{"certificate": signed, "signature": base64}``, signed by ``key``."""
    signature = sign_json(key, signed)
    return {"certificate": dict(signed), "signature": signature}


def problems(held: Any, public_key: bytes) -> list[str]:
    """What is wrong with the certificate ``held`` under ``public_key`` (raw 32 bytes);
    empty if it holds: its shape, the key it names, and the signature."""
    return signed_json_problems(held, "certificate", public_key, _shape)


def _shape(signed: Mapping[str, Any]) -> list[str]:
    if signed.get("format") != FORMAT:
        return [f"format: {signed.get('format')!r} is not {FORMAT}"]
    missing, extra = FIELDS - set(signed), set(signed) - FIELDS
    found = [f"{name}: missing" for name in sorted(missing)]
    found += [f"{name}: not a field of a certificate" for name in sorted(extra)]
    if found:
        return found
    lists = ("conversations", "held", "bars")
    found += [f"{name}: not a list" for name in lists if not isinstance(signed[name], list)]
    for i, c in enumerate(signed["conversations"] if not found else []):
        if not isinstance(c, Mapping) or set(c) != CONVERSATION_FIELDS:
            found.append(f"conversations[{i}]: not {', '.join(sorted(CONVERSATION_FIELDS))}")
    return found


def contradictions(signed: Mapping[str, Any], transcript: Sequence[Mapping[str, Any]]) -> list[str]:
    """Where a bundle's ``transcript`` disagrees with a verified certificate body: each event
    the certificate lists for that conversation must be in it, with the same hash, and each
    field erased there with the same commitment; each erasure record it names must be an
    ``erased`` event. Empty if the transcript holds the erasure as certified."""
    if not transcript:
        return ["the bundle's transcript is empty"]
    conversation_id = transcript[0].get("conversation_id")
    mine = [c for c in signed["conversations"] if c["conversation_id"] == conversation_id]
    if not mine:
        return [f"the certificate lists no conversation {conversation_id}"]
    by_seq = {e.get("seq"): e for e in transcript}
    found = []
    for item in mine[0]["erased"]:
        event = by_seq.get(item["seq"])
        if event is None or event.get("hash") != item["event_hash"]:
            found.append(f"event {item['seq']}: not in the bundle with hash {item['event_hash']}")
            continue
        for name, commitment in item["fields"].items():
            record = (event.get("erased") or {}).get(name)
            if not isinstance(record, Mapping) or record.get("commitment") != commitment:
                found.append(
                    f"event {item['seq']}: {name} is not erased with commitment {commitment}"
                )
    for seq in mine[0]["records"]:
        if (by_seq.get(seq) or {}).get("type") != "erased":
            found.append(f"event {seq}: not the erasure record the certificate names")
    return found
