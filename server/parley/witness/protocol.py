"""The ``add-checkpoint`` call of c2sp.org/tlog-witness, decided without any I/O.

A request body is an ``old N`` line, at most 63 base64 consistency-proof lines,
an empty line and a signed checkpoint. The witness answers it in the order the
spec gives: a body it cannot read is 400; a log it does not follow is 404; a
checkpoint no trusted key signed is 403; an old size above the checkpoint's
size is 400; an old size other than the size it last cosigned is 409 with that
size; the same size with another root is 409; a proof that does not verify is
422. Only then does it cosign, and the caller stores the new checkpoint in the
same transaction that read the old one (see :mod:`parley.witness.state`).

The two refusals that carry a valid log signature but contradict what the
witness cosigned before (:class:`RootConflict`, :class:`ProofFailed`) are marked
``fork``: they are evidence that the log showed someone another tree.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.domain import merkle, note
from parley.domain.note import CheckpointBody, NoteMalformed, NoteUnverified, VerifierKey

MAX_PROOF_LINES = 63
"""The most consistency-proof lines a request may carry (the spec's bound)."""
MAX_SIZE = (1 << 63) - 1
"""The largest tree size this witness records: SQLite's largest integer."""

_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")


class Refusal(Exception):
    """A request the witness does not cosign; ``status`` is its HTTP status code."""

    status = 400
    fork = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Malformed(Refusal):
    """Not an old size line, proof lines, an empty line and a checkpoint; or old > size."""


class UnknownLog(Refusal):
    status = 404


class NotSigned(Refusal):
    status = 403


class SizeConflict(Refusal):
    """The old size is not the size this witness last cosigned; ``size`` is that one."""

    status = 409

    def __init__(self, size: int) -> None:
        super().__init__(f"this witness last cosigned size {size}")
        self.size = size


class RootConflict(Refusal):
    status = 409
    fork = True


class ProofFailed(Refusal):
    status = 422
    fork = True


@dataclass(frozen=True)
class Submission:
    """One parsed ``add-checkpoint`` request."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: note.Note
    body: CheckpointBody

    @property
    def origin(self) -> str:
        return self.body.origin


@dataclass(frozen=True)
class Cosigned:
    """The latest checkpoint the witness cosigned for one log, as stored."""

    origin: str
    size: int
    root: bytes
    note: str
    cosigned_at: int


def parse_request(data: bytes) -> Submission:
    """The submission in a request body; raises :class:`Malformed` saying what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the request body is not UTF-8 text") from None
    end = text.find("\n\n")
    if end < 0:
        raise Malformed(
            "the body is an 'old N' line, consistency proof lines, an empty line and a checkpoint"
        )
    old_line, *proof_lines = text[:end].split("\n")
    old = _OLD.fullmatch(old_line)
    if old is None:
        raise Malformed(f"the first line is 'old N', N decimal, no leading zeroes: {old_line!r}")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise Malformed(f"a request carries at most {MAX_PROOF_LINES} proof lines")
    proof = tuple(_hash(line) for line in proof_lines)
    try:
        checkpoint = note.parse(text[end + 2 :])
        body = CheckpointBody.parse(checkpoint.text)
    except NoteMalformed as e:
        raise Malformed(f"the checkpoint: {e}") from None
    old_size = int(old.group(1))
    if max(old_size, body.size) > MAX_SIZE:
        raise Malformed(f"this witness records tree sizes up to {MAX_SIZE}")
    return Submission(old_size, proof, checkpoint, body)


def _hash(line: str) -> bytes:
    try:
        digest = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"a proof line is one base64 hash: {line[:80]!r}") from None
    if len(digest) != 32:
        raise Malformed(f"a proof line is a 32-byte hash, not {len(digest)} bytes")
    return digest


def check(submission: Submission, latest: Cosigned | None) -> None:
    """Raise the refusal the spec gives if ``submission`` may not follow ``latest``.

    A log the witness never cosigned stands at size 0 with the empty tree's root.
    """
    body = submission.body
    if submission.old_size > body.size:
        raise Malformed(f"old size {submission.old_size} is above the checkpoint's, {body.size}")
    size, root = (latest.size, latest.root) if latest else (0, merkle.EMPTY_ROOT)
    if submission.old_size != size:
        raise SizeConflict(size)
    if body.size == size:
        if body.root != root:
            raise RootConflict(
                f"this witness cosigned size {size} of {body.origin} with root {note.b64(root)}, "
                f"not {note.b64(body.root)}"
            )
        if submission.proof:
            raise ProofFailed("a consistency proof between equal sizes is empty")
        return
    if not merkle.verify_consistency(size, body.size, root, body.root, submission.proof):
        raise ProofFailed(
            f"the consistency proof from size {size} (root {note.b64(root)}) to size {body.size} "
            f"(root {note.b64(body.root)}) of {body.origin} does not verify"
        )


@dataclass(frozen=True)
class Witness:
    """A witness: its name, its key, and the verifier keys of the logs it follows, by origin."""

    name: str
    key: Ed25519PrivateKey
    logs: Mapping[str, tuple[VerifierKey, ...]]

    @classmethod
    def configure(cls, name: str, key: Ed25519PrivateKey, log_keys: Iterable[str]) -> Witness:
        """Raises :class:`NoteMalformed` for a bad name or a log key that is not Ed25519."""
        VerifierKey.of(name, key, note.COSIGNATURE_V1)
        logs: dict[str, list[VerifierKey]] = {}
        for text in log_keys:
            key_of_log = VerifierKey.parse(text)
            if key_of_log.sig_type != note.ED25519:
                raise NoteMalformed(f"a log signs with an Ed25519 (type 0x01) key: {text}")
            logs.setdefault(key_of_log.name, []).append(key_of_log)
        return cls(name, key, {origin: tuple(keys) for origin, keys in logs.items()})

    @property
    def verifier_key(self) -> VerifierKey:
        """``name+id+base64(0x04 || key)``: what logs and verifiers configure for this witness."""
        return VerifierKey.of(self.name, self.key, note.COSIGNATURE_V1)

    def authenticate(self, submission: Submission) -> tuple[note.Signature, ...]:
        """The checkpoint's signatures by the log's trusted keys; 404 or 403 if there are none."""
        keys = self.logs.get(submission.origin)
        if keys is None:
            raise UnknownLog(f"this witness does not follow the log {submission.origin!r}")
        try:
            verified = note.verify(submission.checkpoint, keys)
        except NoteUnverified as e:
            raise NotSigned(str(e)) from None
        return tuple(v.signature for v in verified)

    def cosign(
        self, submission: Submission, log_signatures: Iterable[note.Signature], now: int
    ) -> tuple[note.Signature, Cosigned]:
        """The cosignature, and the record to store: the checkpoint with the log's and ours."""
        body = submission.body
        cosignature = note.cosign(submission.checkpoint.text, self.name, self.key, now)
        signed = note.Note(submission.checkpoint.text, (*log_signatures, cosignature))
        return cosignature, Cosigned(body.origin, body.size, body.root, signed.render(), now)
