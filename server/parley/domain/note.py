"""C2SP signed notes, transparency-log checkpoints and witness cosignatures.

Three small, public formats that let anyone check Parley's log with tools that
were not written for Parley (Go's ``sumdb/note``, the witnesses of the
transparency-dev ecosystem, Sigstore's clients):

- a *signed note* (c2sp.org/signed-note) is a text followed by a blank line and
  one ``— <key name> base64(key ID || signature)`` line per signature;
- a *checkpoint* (c2sp.org/tlog-checkpoint) is a note whose text is the log's
  origin, its tree size and its root hash, one per line, signed by the log
  (Ed25519, signature type ``0x01``);
- a *cosignature* (c2sp.org/tlog-cosignature, ``cosignature/v1``) is a
  witness's timestamped Ed25519 signature (type ``0x04``) over that same text,
  stating that the witness saw no other tree for the log.

A *verifier key* names a key the way these tools do:
``<name>+<key ID in hex>+base64(type byte || 32-byte public key)``.

Parsing is strict and raises :class:`NoteMalformed`; verification never
trusts a key from the note itself, only the verifier keys it is given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
"""Signature type of a plain Ed25519 note signature: what a log signs its checkpoints with."""
COSIGNATURE_V1 = 0x04
"""Signature type of a timestamped Ed25519 witness cosignature (``cosignature/v1``)."""
TYPES = {ED25519: "Ed25519", COSIGNATURE_V1: "cosignature/v1"}

DASH = "\u2014 "
#: A note bigger than this, or with more signature lines, is refused unread.
MAX_NOTE_BYTES = 64 * 1024
MAX_SIGNATURES = 100
#: The largest timestamp a cosignature may carry (2^63 - 1).
MAX_TIMESTAMP = (1 << 63) - 1

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class NoteMalformed(ValueError):
    """Text that is not a well-formed note, checkpoint, signature line or verifier key."""


class NoteUnverified(ValueError):
    """A note with no valid signature from the keys given, or a bad one from a known key."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteMalformed(f"{what} is not standard base64: {text[:80]!r}") from None


def b64(data: bytes) -> str:
    """Standard base64 (RFC 4648 §4), as every line of these formats writes bytes."""
    return base64.b64encode(data).decode()


def check_key_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise NoteMalformed(f"a key name must be non-empty, without spaces or '+': {name!r}")
    return name


def key_id_for(name: str, sig_type: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4]: how a signature line names its key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class VerifierKey:
    """A public key with the name and signature type it signs notes under."""

    name: str
    sig_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id_for(self.name, self.sig_type, self.public_key)

    @classmethod
    def of(cls, name: str, key: Ed25519PrivateKey | Ed25519PublicKey, sig_type: int) -> VerifierKey:
        return cls(check_key_name(name), sig_type, raw_public_key(key))

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """``name+hexid+base64(type || key)``; the key ID must be the one the key derives."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise NoteMalformed(f"a verifier key is name+8 hex digits+base64 key: {text[:120]!r}")
        name, hex_id, material = parts
        raw = _b64decode(material, "the verifier key")
        if len(raw) != 33 or raw[0] not in TYPES:
            raise NoteMalformed(
                "a verifier key holds a type byte (0x01 Ed25519 or 0x04 cosignature/v1) and a "
                f"32-byte Ed25519 key, not {len(raw)} bytes starting {raw[:1].hex() or 'empty'}"
            )
        key = cls(check_key_name(name), raw[0], raw[1:])
        if key.key_id.hex() != hex_id:
            raise NoteMalformed(
                f"the key ID {hex_id} does not match the key, which gives {key.key_id.hex()}"
            )
        try:
            Ed25519PublicKey.from_public_bytes(key.public_key)
        except ValueError:
            raise NoteMalformed("the verifier key is not a valid Ed25519 public key") from None
        return key

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([self.sig_type]) + self.public_key)}"


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name, its 4-byte key ID, and what follows the ID."""

    name: str
    key_id: bytes
    blob: bytes

    def line(self) -> str:
        return f"{DASH}{self.name} {b64(self.key_id + self.blob)}\n"

    @classmethod
    def parse_line(cls, line: str) -> Signature:
        if not line.startswith(DASH):
            raise NoteMalformed(f"a signature line starts with an em dash and space: {line[:80]!r}")
        name, sep, encoded = line[len(DASH) :].rstrip("\n").partition(" ")
        if not sep:
            raise NoteMalformed(f"a signature line is '— name base64': {line[:80]!r}")
        raw = _b64decode(encoded, f"the signature of {name!r}")
        if len(raw) < 5:
            raise NoteMalformed(f"the signature of {name!r} is too short ({len(raw)} bytes)")
        return cls(check_key_name(name), raw[:4], raw[4:])


@dataclass(frozen=True)
class Note:
    """A note's text (ending in a newline) and its signature lines, in order."""

    text: str
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def with_signatures(self, more: Iterable[Signature]) -> Note:
        """The note with ``more`` appended, skipping any line it already has."""
        kept = list(self.signatures)
        for sig in more:
            if sig not in kept:
                kept.append(sig)
        return Note(self.text, tuple(kept))


def parse(message: str | bytes) -> Note:
    """Split a signed note into its text and signatures; strict about everything the spec says."""
    if isinstance(message, bytes):
        if len(message) > MAX_NOTE_BYTES:
            raise NoteMalformed(f"a note is at most {MAX_NOTE_BYTES} bytes")
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteMalformed("a note is UTF-8 text") from None
    if len(message.encode()) > MAX_NOTE_BYTES:
        raise NoteMalformed(f"a note is at most {MAX_NOTE_BYTES} bytes")
    if any(ord(c) < 0x20 and c != "\n" for c in message) or "\x7f" in message:
        raise NoteMalformed("a note holds no control characters but newlines")
    split = message.rfind("\n\n")
    if split < 0 or not message.endswith("\n"):
        raise NoteMalformed("a note is text, a blank line and signature lines, each ending in \\n")
    text, lines = message[: split + 1], message[split + 2 :].splitlines(keepends=True)
    if not lines:
        raise NoteMalformed("a note has at least one signature line")
    if len(lines) > MAX_SIGNATURES:
        raise NoteMalformed(f"a note has at most {MAX_SIGNATURES} signatures")
    return Note(text, tuple(Signature.parse_line(line) for line in lines))


def sign(text: str, name: str, key: Ed25519PrivateKey) -> Signature:
    """An Ed25519 (type 0x01) note signature of ``text`` by ``key`` under ``name``."""
    if not text.endswith("\n"):
        raise NoteMalformed("a note's text ends in a newline")
    verifier = VerifierKey.of(name, key, ED25519)
    return Signature(verifier.name, verifier.key_id, key.sign(text.encode()))


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: a header, the time, then the checkpoint's whole text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(text: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> Signature:
    """A witness's timestamped cosignature (type 0x04) of a checkpoint's text."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteMalformed(f"a cosignature's timestamp is within 0..2^63-1, not {timestamp}")
    verifier = VerifierKey.of(name, key, COSIGNATURE_V1)
    blob = struct.pack(">Q", timestamp) + key.sign(cosignature_message(text, timestamp))
    return Signature(verifier.name, verifier.key_id, blob)


@dataclass(frozen=True)
class Verified:
    """A signature that verified, with the key that made it and, for a cosignature, its time."""

    key: VerifierKey
    signature: Signature
    timestamp: int | None


def _check(key: VerifierKey, text: str, sig: Signature) -> Verified:
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    try:
        if key.sig_type == ED25519:
            if len(sig.blob) != 64:
                raise InvalidSignature
            public.verify(sig.blob, text.encode())
            return Verified(key, sig, None)
        if len(sig.blob) != 72:
            raise InvalidSignature
        (timestamp,) = struct.unpack(">Q", sig.blob[:8])
        if timestamp > MAX_TIMESTAMP:
            raise InvalidSignature
        public.verify(sig.blob[8:], cosignature_message(text, timestamp))
        return Verified(key, sig, timestamp)
    except InvalidSignature:
        raise NoteUnverified(
            f"the {TYPES[key.sig_type]} signature by {key.name} ({key.key_id.hex()}) is not valid"
        ) from None


def verify(note: Note, keys: Sequence[VerifierKey]) -> list[Verified]:
    """The note's signatures by ``keys``, each checked; unknown signers are ignored.

    Raises :class:`NoteUnverified` if a signature from a known key fails (the
    whole note is then suspect) or if none of the keys signed it.
    """
    known = {(k.name, k.key_id): k for k in keys}
    good = [
        _check(known[(s.name, s.key_id)], note.text, s)
        for s in note.signatures
        if (s.name, s.key_id) in known
    ]
    if not good:
        names = ", ".join(sorted({k.name for k in keys})) or "no keys"
        raise NoteUnverified(f"the note carries no signature by {names}")
    return good


@dataclass(frozen=True)
class CheckpointBody:
    """The text of a tlog-checkpoint: origin, tree size, root hash, then extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> CheckpointBody:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteMalformed("a checkpoint is origin, size and root hash lines, then extensions")
        origin, size, root = lines[0], lines[1], lines[2]
        if not _DECIMAL.fullmatch(size) or int(size) >= 1 << 64:
            raise NoteMalformed(f"a checkpoint's size is decimal, no leading zeroes: {size!r}")
        digest = _b64decode(root, "the checkpoint's root hash")
        if len(digest) != 32:
            raise NoteMalformed(f"a checkpoint's root hash has 32 bytes, this one {len(digest)}")
        return cls(origin, int(size), digest, tuple(lines[3:-1]))
