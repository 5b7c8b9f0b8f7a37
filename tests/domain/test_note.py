"""Signed notes, checkpoints and cosignatures, against published vectors and hostile text.

The vectors are other implementations' own: Go's ``golang.org/x/mod/sumdb/note``
(the PeterNeumann note and key) and a real checkpoint of Google's staging CT log
``arche2025h1`` cosigned by the public witness ``remora.n621.de``. Ed25519 is
deterministic (RFC 8032), so signing the Go vector's text must give its bytes.
"""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.domain import note
from parley.domain.note import (
    COSIGNATURE_V1,
    ED25519,
    CheckpointBody,
    NoteMalformed,
    NoteUnverified,
    VerifierKey,
)

GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

ARCHE = (
    "arche2025h1.staging.ct.transparency.dev\n"
    "1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n"
    "\n"
    "— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6"
    "hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=\n"
    "— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXT"
    "ynk5XeU/zZ0WBxtqB0DrAWfBw==\n"
)
REMORA = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def go_private_key() -> Ed25519PrivateKey:
    material = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert material[0] == ED25519
    return Ed25519PrivateKey.from_private_bytes(material[1:])


def test_signing_reproduces_go_sumdb_note_byte_for_byte() -> None:
    key = go_private_key()
    signed = note.Note(GO_TEXT, (note.sign(GO_TEXT, "PeterNeumann", key),)).render()
    assert signed == GO_NOTE
    assert str(VerifierKey.of("PeterNeumann", key, ED25519)) == GO_VKEY


def test_go_note_opens_with_its_verifier_key_and_not_when_edited() -> None:
    vkey = VerifierKey.parse(GO_VKEY)
    [verified] = note.verify(note.parse(GO_NOTE), [vkey])
    assert verified.key == vkey and verified.timestamp is None
    with pytest.raises(NoteUnverified, match="PeterNeumann"):
        note.verify(note.parse(GO_NOTE.replace("cryptography", "cryptographY")), [vkey])


def test_real_witness_cosignature_verifies_and_carries_its_time() -> None:
    checkpoint = note.parse(ARCHE)
    body = CheckpointBody.parse(checkpoint.text)
    assert (body.origin, body.size) == ("arche2025h1.staging.ct.transparency.dev", 1432088532)
    [verified] = note.verify(checkpoint, [VerifierKey.parse(REMORA)])
    assert verified.key.sig_type == COSIGNATURE_V1
    assert verified.timestamp == 1779573024  # 2026-05-23, as the witness signed it
    clobbered = note.parse(ARCHE.replace("1432088532", "42"))
    with pytest.raises(NoteUnverified, match=r"remora\.n621\.de"):
        note.verify(clobbered, [VerifierKey.parse(REMORA)])


def test_cosign_round_trip_and_the_time_is_signed() -> None:
    key = Ed25519PrivateKey.generate()
    text = CheckpointBody("example.com/log", 7, bytes(32)).text()
    sig = note.cosign(text, "witness.example/w1", key, 1_700_000_000)
    vkey = VerifierKey.of("witness.example/w1", key, COSIGNATURE_V1)
    [verified] = note.verify(note.Note(text, (sig,)), [vkey])
    assert verified.timestamp == 1_700_000_000
    moved = note.Signature(sig.name, sig.key_id, struct.pack(">Q", 1_800_000_000) + sig.blob[8:])
    with pytest.raises(NoteUnverified):
        note.verify(note.Note(text, (moved,)), [vkey])


def test_a_key_of_another_type_is_not_confused_with_a_cosigner() -> None:
    key = Ed25519PrivateKey.generate()
    text = CheckpointBody("example.com/log", 1, bytes(32)).text()
    signed = note.Note(text, (note.sign(text, "example.com/log", key),))
    as_witness = VerifierKey.of("example.com/log", key, COSIGNATURE_V1)
    with pytest.raises(NoteUnverified, match=r"no signature by example\.com/log"):
        note.verify(signed, [as_witness])


def test_unknown_signers_are_ignored_but_a_bad_known_signature_rejects_the_note() -> None:
    mine, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    text = "hello\n"
    good = note.sign(text, "me", mine)
    stranger = note.sign(text, "stranger", other)
    vkey = VerifierKey.of("me", mine, ED25519)
    assert len(note.verify(note.Note(text, (stranger, good)), [vkey])) == 1
    forged = note.Signature("me", good.key_id, bytes(64))
    with pytest.raises(NoteUnverified, match="is not valid"):
        note.verify(note.Note(text, (good, forged)), [vkey])


def test_checkpoint_body_round_trips_with_extensions() -> None:
    body = CheckpointBody("example.com/log", 0, bytes(range(32)), ("ext one",))
    assert CheckpointBody.parse(body.text()) == body


@pytest.mark.parametrize(
    "text",
    [
        "example.com/log\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "example.com/log\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "example.com/log\n1\nAAAA\n",
        "example.com/log\n1\nnot base64!\n",
        "example.com/log\n1\n",
        "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "example.com/log\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteMalformed):
        CheckpointBody.parse(text)


@pytest.mark.parametrize(
    "message",
    [
        "no blank line\n— a AAAAAAAA\n",
        "text\n\n",
        "text\n\n- a AAAAAAAAAA==\n",
        "text\n\n— a\n",
        "text\n\n— a AAA\n",
        "text\n\n— a+b AAAAAAAAAA==\n",
        "te\x00xt\n\n— a AAAAAAAAAA==\n",
        "text\n\n— a AAAAAAAAAA==",
        "text\n\n— a !!!!\n",
    ],
)
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(NoteMalformed):
        note.parse(message)


def test_oversized_and_non_utf8_notes_are_refused() -> None:
    with pytest.raises(NoteMalformed, match="UTF-8"):
        note.parse(b"\xff\xfe\n\n\xe2\x80\x94 a AAAAAAAAAA==\n")
    with pytest.raises(NoteMalformed, match="at most"):
        note.parse("x\n" * note.MAX_NOTE_BYTES + "\n— a AAAAAAAAAA==\n")
    many = "text\n\n" + "— a AAAAAAAAAA==\n" * (note.MAX_SIGNATURES + 1)
    with pytest.raises(NoteMalformed, match="at most"):
        note.parse(many)


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key ID
        "PeterNeumann+c74f20a3",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ApPc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # type 0x02
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(NoteMalformed):
        VerifierKey.parse(vkey)
