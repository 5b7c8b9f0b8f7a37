"""The witness's decisions without I/O: the spec's order of checks, and its configuration."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.domain import note
from parley.domain.note import NoteMalformed, VerifierKey
from parley.witness.protocol import (
    Cosigned,
    Malformed,
    NotSigned,
    ProofFailed,
    RootConflict,
    SizeConflict,
    UnknownLog,
    Witness,
    check,
    parse_request,
)
from tlog import TinyLog


def witness_of(log: TinyLog) -> Witness:
    return Witness.configure("witness.example/w1", Ed25519PrivateKey.generate(), [str(log.vkey)])


def test_a_cosigned_checkpoint_is_stored_with_the_logs_signature_and_the_witness() -> None:
    log = TinyLog().append(5)
    witness = witness_of(log)
    submission = parse_request(log.request(0))
    check(submission, None)
    cosignature, record = witness.cosign(
        submission, witness.authenticate(submission), 1_700_000_000
    )
    assert (record.origin, record.size, record.root) == (log.origin, 5, log.root())
    assert record.cosigned_at == 1_700_000_000
    stored = note.parse(record.note)
    assert stored.signatures[-1] == cosignature
    assert len(note.verify(stored, [log.vkey, witness.verifier_key])) == 2


def test_who_signed_is_checked_before_any_size_and_sizes_before_proofs() -> None:
    log = TinyLog().append(5)
    witness = witness_of(log)
    latest = Cosigned(log.origin, 3, log.root(3), log.checkpoint(3), 0)
    stranger = parse_request(TinyLog("other.example/log").append(5).request(9, proof=[]))
    with pytest.raises(UnknownLog):
        witness.authenticate(stranger)
    impostor = TinyLog(log.origin).append(5)
    with pytest.raises(NotSigned):
        witness.authenticate(parse_request(impostor.request(9, proof=[])))
    with pytest.raises(Malformed, match="above the checkpoint's"):
        check(parse_request(log.request(9, proof=[])), latest)
    with pytest.raises(SizeConflict) as conflict:
        check(parse_request(log.request(2, proof=[bytes(32)])), latest)
    assert conflict.value.size == 3 and not conflict.value.fork
    with pytest.raises(ProofFailed) as failed:
        check(parse_request(log.request(3, proof=[bytes(32)])), latest)
    assert failed.value.fork
    check(parse_request(log.request(3)), latest)


def test_a_log_never_cosigned_stands_at_the_empty_tree() -> None:
    log = TinyLog()
    check(parse_request(log.request(0)), None)
    empty_with_a_root = TinyLog().append(1)
    text = note.CheckpointBody(log.origin, 0, empty_with_a_root.root()).text()
    signed = note.Note(text, (note.sign(text, log.origin, log.key),)).render()
    with pytest.raises(RootConflict):
        check(parse_request(f"old 0\n\n{signed}".encode()), None)


def test_a_witness_is_configured_with_ed25519_log_keys_and_a_valid_name() -> None:
    key = Ed25519PrivateKey.generate()
    log = TinyLog()
    other_key_of_log = VerifierKey.of(log.origin, Ed25519PrivateKey.generate(), note.ED25519)
    witness = Witness.configure("w.example/1", key, [str(log.vkey), str(other_key_of_log)])
    assert witness.logs == {log.origin: (log.vkey, other_key_of_log)}
    assert witness.verifier_key.sig_type == note.COSIGNATURE_V1
    cosigner = VerifierKey.of(log.origin, key, note.COSIGNATURE_V1)
    with pytest.raises(NoteMalformed, match="Ed25519 \\(type 0x01\\)"):
        Witness.configure("w.example/1", key, [str(cosigner)])
    with pytest.raises(NoteMalformed, match="without spaces"):
        Witness.configure("w example", key, [])
