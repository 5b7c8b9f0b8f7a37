"""A Parley server, a witness following its log, and a monitor following both.

All three are the real commands: ``parley serve`` with ``PARLEY_WITNESSES``,
``parley witness serve`` configured with the log verifier key ``parley keys``
prints, and ``parley log monitor`` requiring the witness's cosignature.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from harness import Server, api, closed_conversation, parley
from parley.domain import note
from parley.domain.note import CheckpointBody, VerifierKey
from tlog import WitnessProcess


async def cosigned_checkpoint(server: Server, witness: VerifierKey, larger_than: int = 0) -> str:
    """The log's newest checkpoint once it is larger than ``larger_than`` and the witness has
    cosigned it (the publisher runs in the background after each signing)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = await api(server, "/log/checkpoint")
        if (
            r.status_code == 200
            and CheckpointBody.parse(note.parse(r.text).text).size > larger_than
            and any(s.name == witness.name for s in note.parse(r.text).signatures)
        ):
            return r.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"the witness never cosigned:\n{r.text}")


async def test_the_log_is_cosigned_by_its_witness_and_the_monitor_checks_both(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    witness = WitnessProcess(tmp_path / "witness")
    witness_key = witness.vkey
    server = make_server(PARLEY_WITNESSES=f"{witness_key} {witness.url}")
    keys = server.cli("keys")
    assert keys.returncode == 0, keys.stderr
    log_key = VerifierKey.parse(keys.stdout.split("log verifier key: ")[1].split()[0])
    witness.logs = (log_key,)
    witness.start()
    try:
        server.start()
        token = server.add_staff("Alice Agent", "agent")
        state = tmp_path / "monitor.json"
        monitor = (
            "log", "monitor", server.http, "--public-key", str(log_key),
            "--witness", str(witness_key), "--state", str(state), "--once",
        )  # fmt: skip
        sizes = []
        for clause in ("1.1", "2.1"):
            await closed_conversation(server, token, clause)
            served = await cosigned_checkpoint(server, witness_key, max(sizes, default=0))
            sizes.append(CheckpointBody.parse(note.parse(served).text).size)
            result = parley(*monitor)
            assert result.returncode == 0, result.stdout + result.stderr
            assert f"size {sizes[-1]}" in result.stdout
        assert "consistent with size" in result.stdout and sizes[0] < sizes[1]
        async with httpx.AsyncClient(base_url=witness.url, timeout=10) as http:
            kept = await http.get(f"/checkpoint/{log_key.name}")
        assert note.parse(kept.text).text == note.parse(served).text
    finally:
        witness.stop()
