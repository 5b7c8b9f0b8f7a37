"""Anchoring conversation heads in one signed, append-only Merkle log.

A *leaf* commits to a conversation's head: its id, the seq and hash of its
latest event, the hash of its latest audit entry, and when it was anchored.
Leaves are appended to one log shared by every conversation (an RFC 9162
tree, :mod:`parley.domain.merkle`). A *checkpoint* — origin, tree size and
root hash — is signed with the server's Ed25519 key. Publishing the public
key binds the operator: rewriting any anchored transcript changes its head,
so its leaf, so every later root, and no signature over the old roots can be
made for the new ones.

Each checkpoint is also signed as a C2SP signed note (:mod:`parley.domain.note`):
the same origin, size and root in the format that witnesses, monitors and the
tools of Certificate Transparency and Go's checksum database read. Witnesses
add their cosignatures to that note, and a time-stamping authority may stamp it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parley.domain import merkle, note
from parley.domain.chain import canonical_json

ORIGIN = "parley-transcript-log/v1"
"""The log's origin unless ``PARLEY_LOG_ORIGIN`` names another (it is also the note key name)."""


@dataclass(frozen=True)
class Leaf:
    conversation_id: str
    seq: int
    head_hash: str
    #: Hash of the latest audit entry about the conversation (None if there is none).
    audit_head: str | None
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "audit_head": self.audit_head,
            "at": self.at,
        }

    def hash(self) -> bytes:
        """The RFC 9162 leaf hash of the leaf's canonical JSON."""
        return merkle.leaf_hash(canonical_json(self.to_dict()))


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: str
    at: str
    key_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "at": self.at,
            "key_id": self.key_id,
        }


@dataclass(frozen=True)
class SignedCheckpoint:
    """A stored checkpoint with everything signed about it."""

    checkpoint: Checkpoint
    #: The Ed25519 signature (base64) of the checkpoint's canonical JSON.
    signature: str
    #: The same checkpoint as a C2SP signed note, signed by the log (checkpoints made
    #: before notes were kept have none).
    note: str | None = None
    #: Witnesses' cosignature lines on ``note``, as they returned them.
    cosignatures: tuple[str, ...] = ()
    #: An RFC 3161 time-stamp token (base64 DER) over ``note``'s text.
    timestamp: str | None = None

    def witnessed_note(self) -> str | None:
        """The note with the witnesses' cosignatures appended: what monitors fetch."""
        if self.note is None:
            return None
        cosigned = note.parse(self.note).with_signatures(
            note.Signature.parse_line(line) for line in self.cosignatures
        )
        return cosigned.render()


def note_body(checkpoint: Checkpoint) -> note.CheckpointBody:
    return note.CheckpointBody(
        checkpoint.origin, checkpoint.tree_size, bytes.fromhex(checkpoint.root_hash)
    )


def sign_note(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> str:
    """The checkpoint as a signed note, signed by ``key`` under the log's origin as key name."""
    text = note_body(checkpoint).text()
    return note.Note(text, (note.sign(text, checkpoint.origin, key),)).render()


def log_verifier_key(origin: str, key: Ed25519PrivateKey | Ed25519PublicKey) -> note.VerifierKey:
    """The verifier key (``origin+id+base64``) that monitors and witnesses configure."""
    return note.VerifierKey.of(origin, key, note.ED25519)


def sign_json(key: Ed25519PrivateKey, body: Mapping[str, Any]) -> str:
    """The key's Ed25519 signature (base64) of ``body``'s canonical JSON (RFC 8785).

    How receipts and erasure certificates are signed: any Ed25519 tool checks it
    over the canonical bytes.
    """
    return base64.b64encode(key.sign(canonical_json(body))).decode()


def json_signature_valid(public_key: bytes, body: Mapping[str, Any], signature: Any) -> bool:
    """Whether ``signature`` (base64) is the key's signature of ``body``'s canonical JSON."""
    if not isinstance(signature, str):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw, canonical_json(body))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def signed_json_problems(
    held: Any,
    name: str,
    public_key: bytes,
    shape: Callable[[Mapping[str, Any]], list[str]],
) -> list[str]:
    """What is wrong with ``{name: body, "signature": base64}`` under ``public_key``.

    Empty if it holds: its shape (``shape`` checks the body's fields), the key id and
    key the body names, and the Ed25519 signature over the body's canonical JSON. How
    receipts and erasure certificates are checked.
    """
    if not isinstance(held, Mapping) or set(held) != {name, "signature"}:
        return [f'a {name} is a JSON object with exactly "{name}" and "signature"']
    signed = held[name]
    if not isinstance(signed, Mapping):
        return [f'"{name}" is not a JSON object']
    found = shape(signed)
    if found:
        return found
    given = key_id(public_key)
    if signed["key_id"] != given:
        found.append(f"key_id: the {name} names key {signed['key_id']}, the key given is {given}")
    if signed["public_key"] != base64.b64encode(public_key).decode():
        found.append(f"public_key: the key inside the {name} is not the key given")
    if not json_signature_valid(public_key, signed, held["signature"]):
        found.append(f"signature: not a valid Ed25519 signature of this {name} by the key given")
    return found


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> str:
    return sign_json(key, checkpoint.to_dict())


def signature_valid(public_key: bytes, checkpoint: Checkpoint, signature: str) -> bool:
    """True if ``signature`` (base64) is the key's Ed25519 signature of the checkpoint."""
    return json_signature_valid(public_key, checkpoint.to_dict(), signature)
