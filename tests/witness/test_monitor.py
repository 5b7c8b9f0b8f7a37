"""``parley log monitor`` following a log over HTTP: consistent growth, forks, bad signatures.

The log serves Parley's public endpoints (``/log/checkpoint``, ``/log/consistency``)
from a real uvicorn server; the monitor is the real CLI in a subprocess.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import launcher
from harness import free_port, parley
from parley.witness.client import add_checkpoint
from tlog import Served, TinyLog, WitnessProcess

OK, INCONSISTENT, UNCHECKED = 0, 1, 2


@pytest.fixture
def served(log: TinyLog) -> Iterator[Served]:
    s = Served(log.app()).start()
    yield s
    s.stop()


def monitor(served: Served, key: str, state: Path, *more: str) -> subprocess.CompletedProcess[str]:
    args = ("--public-key", key, "--state", str(state), "--once", *more)
    return parley("log", "monitor", served.url, *args)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_consistent_growth_is_ok_every_time(log: TinyLog, served: Served, tmp_path: Path) -> None:
    state = tmp_path / "monitor.json"
    first = monitor(served, str(log.vkey), state)
    assert first.returncode == OK, first.stdout + first.stderr
    assert "first checkpoint seen" in first.stdout and "size 5" in first.stdout
    unchanged = monitor(served, str(log.vkey), state)
    assert unchanged.returncode == OK and "consistent with size 5" in unchanged.stdout
    for grow in (1, 2, 9, 100):
        before = len(log.leaves)
        log.append(grow)
        result = monitor(served, str(log.vkey), state)
        assert result.returncode == OK, result.stdout
        assert f"size {len(log.leaves)}" in result.stdout
        assert f"consistent with size {before}" in result.stdout
    kept = json.loads(state.read_text())
    assert kept["known"]["size"] == 117 and kept["inconsistencies"] == []


def test_the_raw_public_key_in_base64_or_pem_names_the_origin_itself(
    log: TinyLog, served: Served, tmp_path: Path
) -> None:
    public = log.key.public_key()
    raw = b64(public.public_bytes(Encoding.Raw, PublicFormat.Raw))
    pem = tmp_path / "log.pem"
    pem.write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    for key in (raw, str(pem)):
        result = monitor(served, key, tmp_path / f"state-{len(key)}.json")
        assert result.returncode == OK, result.stdout + result.stderr


def test_a_fork_at_the_same_size_is_inconsistent_naming_both_roots(
    log: TinyLog, served: Served, tmp_path: Path
) -> None:
    state = tmp_path / "monitor.json"
    assert monitor(served, str(log.vkey), state).returncode == OK
    honest = b64(log.root())
    log.fork(3)
    result = monitor(served, str(log.vkey), state)
    assert result.returncode == INCONSISTENT
    assert f"two roots for size 5: {honest} and {b64(log.root())}" in result.stdout
    assert f"checked before: {log.origin}  size 5  root {honest}" in result.stdout
    assert f"served now:     {log.origin}  size 5  root {b64(log.root())}" in result.stdout
    again = monitor(served, str(log.vkey), state)
    assert again.returncode == INCONSISTENT, "the monitor keeps the last consistent checkpoint"
    kept = json.loads(state.read_text())
    [evidence] = kept["inconsistencies"]
    assert evidence["known"]["root"] == honest and evidence["offered"]["root"] == b64(log.root())
    assert evidence["offered"]["signed"] == log.checkpoint()
    assert kept["known"]["root"] == honest


def test_a_rewritten_log_that_grew_fails_its_consistency_proof(
    log: TinyLog, served: Served, tmp_path: Path
) -> None:
    state = tmp_path / "monitor.json"
    assert monitor(served, str(log.vkey), state).returncode == OK
    honest = b64(log.root())
    log.fork(0)
    log.append(4)
    result = monitor(served, str(log.vkey), state)
    assert result.returncode == INCONSISTENT
    assert (
        f"consistency proof from size 5 (root {honest}) to size 9 (root {b64(log.root())}) "
        "does not verify" in result.stdout
    )


def test_a_log_that_shrank_is_inconsistent(log: TinyLog, served: Served, tmp_path: Path) -> None:
    state = tmp_path / "monitor.json"
    assert monitor(served, str(log.vkey), state).returncode == OK
    del log.leaves[3:]
    result = monitor(served, str(log.vkey), state)
    assert result.returncode == INCONSISTENT and "went back from 5 to 3" in result.stdout


def test_a_checkpoint_signed_by_another_key_is_refused_and_changes_nothing(
    log: TinyLog, served: Served, tmp_path: Path
) -> None:
    state = tmp_path / "monitor.json"
    assert monitor(served, str(log.vkey), state).returncode == OK
    before = state.read_text()
    honest_key = log.vkey
    log.key = Ed25519PrivateKey.generate()
    log.append(1)
    result = monitor(served, str(honest_key), state)
    assert result.returncode == UNCHECKED
    assert "refused: the log's signature does not verify" in result.stdout
    assert state.read_text() == before


def test_unreachable_or_unreadable_logs_are_unchecked(log: TinyLog, tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    result = parley("log", "monitor", nobody, "--public-key", str(log.vkey), "--once")
    assert result.returncode == UNCHECKED and "no answer from" in result.stdout
    bad = parley("log", "monitor", nobody, "--public-key", "nonsense", "--once")
    assert bad.returncode == 2 and "neither a verifier key" in bad.stderr
    as_witness = ("--public-key", str(log.vkey), "--witness", str(log.vkey), "--once")
    bad = parley("log", "monitor", nobody, *as_witness)
    assert bad.returncode == 2 and "cosignature/v1 (type 0x04)" in bad.stderr
    too_many = ("--public-key", str(log.vkey), "--quorum", "1", "--once")
    bad = parley("log", "monitor", nobody, *too_many)
    assert bad.returncode == 2 and "--quorum is 0 to 0" in bad.stderr


async def test_witness_cosignatures_are_required_when_witness_keys_are_given(
    log: TinyLog, served: Served, witness: WitnessProcess, tmp_path: Path
) -> None:
    vkey = str(witness.vkey)
    result = monitor(served, str(log.vkey), tmp_path / "a.json", "--witness", vkey)
    assert result.returncode == UNCHECKED and "no signature by witness.example/w1" in result.stdout
    async with httpx.AsyncClient(timeout=30) as http:
        log.cosignatures = await add_checkpoint(http, witness.url, 0, [], log.checkpoint())
    result = monitor(served, str(log.vkey), tmp_path / "b.json", "--witness", vkey)
    assert result.returncode == OK, result.stdout
    other = WitnessProcess(tmp_path / "other", log.vkey, name="witness.example/w2")
    two = ("--witness", vkey, "--witness", str(other.vkey))
    result = monitor(served, str(log.vkey), tmp_path / "c.json", *two)
    assert result.returncode == UNCHECKED and "1 of the witnesses cosigned, 2 are required" in (
        result.stdout
    )
    result = monitor(served, str(log.vkey), tmp_path / "d.json", *two, "--quorum", "1")
    assert result.returncode == OK, result.stdout


def test_while_following_the_monitor_keeps_the_evidence_in_its_state(
    log: TinyLog, served: Served, tmp_path: Path
) -> None:
    state = tmp_path / "monitor.json"
    args = ["log", "monitor", served.url, "--public-key", str(log.vkey), "--state", str(state)]
    proc = launcher.start([*args, "--interval", "0.1"], dict(os.environ), tmp_path / "monitor.out")
    try:
        assert wait_for(lambda: state.exists() and json.loads(state.read_text())["known"])
        log.fork(1)
        assert wait_for(lambda: json.loads(state.read_text())["inconsistencies"])
        assert proc.poll() is None, "following, an inconsistency is reported, not fatal"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "INCONSISTENT" in (tmp_path / "monitor.out").read_text()


def wait_for(condition: Callable[[], object], within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
