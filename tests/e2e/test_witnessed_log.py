"""A Parley server whose checkpoints real witnesses cosign, and bundles verified against them.

The witnesses are ``parley witness serve`` processes following the server's log;
the server submits each checkpoint it signs (c2sp.org/tlog-witness) and an evidence
export carries the cosignatures, which ``parley evidence verify --witness`` requires.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Server, api, closed_conversation, parley
from parley.domain import note
from parley.domain.note import VerifierKey
from tlog import ORIGIN, WitnessProcess, log_key


class Witnessed:
    """A server, its two witnesses, and the keys a verifier is given."""

    def __init__(self, server: Server, witnesses: list[WitnessProcess]) -> None:
        self.server = server
        self.witnesses = witnesses
        self.keys = [w.vkey for w in witnesses]
        self.agent = server.add_staff("Alice Agent", "agent")
        self.compliance = server.add_staff("Carol Compliance", "compliance")
        self.public_key = server.cli("keys").stdout.split("public key (base64): ")[1].split()[0]

    async def bundle(self, tmp_path: Path, clause: str = "1.2") -> Path:
        conversation_id = await closed_conversation(self.server, self.agent, clause)
        r = await api(
            self.server,
            f"/api/compliance/conversations/{conversation_id}/evidence",
            self.compliance,
        )
        assert r.status_code == 200, r.text
        path = tmp_path / f"{conversation_id}.json"
        path.write_text(r.text)
        return path

    def verify(self, bundle: Path, *args: str) -> tuple[int, str]:
        result = parley("evidence", "verify", str(bundle), "--public-key", self.public_key, *args)
        return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def witnessed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Witnessed]:
    """One server and its witnesses for the module: each test leaves both witnesses up."""
    folder = tmp_path_factory.mktemp("witnessed")
    key = log_key(folder / "data")
    witnesses = [
        WitnessProcess(folder / name, key, name=f"witness.test/{name}").start()
        for name in ("w1", "w2")
    ]
    configured = ", ".join(f"{w.vkey} {w.url}" for w in witnesses)
    server = Server(folder / "data", PARLEY_LOG_ORIGIN=ORIGIN, PARLEY_WITNESSES=configured)
    try:
        yield Witnessed(server.start(), witnesses)
    finally:
        server.stop()
        for w in witnesses:
            w.stop()


def html_path(bundle: Path) -> str:
    conversation_id = json.loads(bundle.read_text())["conversation"]["id"]
    return f"/api/compliance/conversations/{conversation_id}/evidence?format=html"


def cosigners(bundle: Path, keys: list[VerifierKey]) -> set[str]:
    signed = note.parse(json.loads(bundle.read_text())["anchor"]["note"])
    found = set()
    for key in keys:
        try:
            note.verify(signed, [key])
        except note.NoteUnverified:
            continue
        found.add(key.name)
    return found


async def test_an_exported_bundle_carries_every_witness_cosignature(
    witnessed: Witnessed, tmp_path: Path
) -> None:
    """Rule: with witnesses configured, a bundle verifies against the witnesses' keys."""
    bundle = await witnessed.bundle(tmp_path)
    assert cosigners(bundle, witnessed.keys) == {"witness.test/w1", "witness.test/w2"}
    status, said = witnessed.verify(
        bundle, "--witness", str(witnessed.keys[0]), "--witness", str(witnessed.keys[1])
    )
    assert status == 0, said
    assert "ok    witness cosignatures (2 of 2 required)" in said
    # The log serves the same cosignatures to monitors.
    served = (await api(witnessed.server, "/log/checkpoint")).text
    assert len(note.verify(note.parse(served), witnessed.keys)) == 2
    # The printable record names the witnesses, and says how their cosignatures are checked.
    page = (await api(witnessed.server, html_path(bundle), witnessed.compliance)).text
    row = page.split("Witness cosignatures", 1)[1].split("</tr>", 1)[0]
    assert "witness.test/w1" in row and "witness.test/w2" in row and "--witness" in row
    keys = (await api(witnessed.server, "/api/keys")).json()["log"]
    assert keys["origin"] == ORIGIN
    assert keys["witnesses"] == [str(k) for k in witnessed.keys]


async def test_a_witness_the_log_never_reached_fails_the_quorum_by_name(
    witnessed: Witnessed, tmp_path: Path
) -> None:
    """Rule: verify --witness fails, naming who is missing, below the quorum; passes at it."""
    stranger = WitnessProcess(tmp_path / "stranger", name="witness.test/stranger")
    stranger.folder.mkdir(parents=True)
    bundle = await witnessed.bundle(tmp_path)
    required = ["--witness", str(witnessed.keys[0]), "--witness", str(stranger.vkey)]
    status, said = witnessed.verify(bundle, *required)
    assert status == 1, said
    assert "cosigned by 1 of the 2 witnesses required (witness.test/w1)" in said
    assert "no cosignature by witness.test/stranger" in said
    status, said = witnessed.verify(bundle, *required, "--quorum", "1")
    assert status == 0, said


async def test_a_witness_that_was_down_cosigns_at_the_next_export(
    witnessed: Witnessed, tmp_path: Path
) -> None:
    """Rule: a witness outage leaves a bundle short of its cosignature, never the log stuck."""
    first = await witnessed.bundle(tmp_path)
    down = witnessed.witnesses[1]
    down.stop()
    second = await witnessed.bundle(tmp_path, "2.1")
    assert cosigners(second, witnessed.keys) == {"witness.test/w1"}
    status, said = witnessed.verify(
        second, *(a for k in witnessed.keys for a in ("--witness", str(k)))
    )
    assert status == 1 and "no cosignature by witness.test/w2" in said, said
    down.start()
    third = await witnessed.bundle(tmp_path, "1.1")
    assert cosigners(third, witnessed.keys) == {"witness.test/w1", "witness.test/w2"}
    # The witness came back to a larger log, and cosigned it: it was proven consistent.
    sizes = [json.loads(b.read_text())["anchor"]["checkpoint"]["tree_size"] for b in (first, third)]
    assert sizes[0] < sizes[1]


async def test_bad_witness_arguments_are_refused_before_reading(
    witnessed: Witnessed, tmp_path: Path
) -> None:
    bundle = await witnessed.bundle(tmp_path)
    log = str(log_key(witnessed.server.data_dir))
    for args, said in [
        (["--witness", "nonsense"], "verifier key"),
        (["--witness", log], "cosignature/v1"),
        (["--witness", str(witnessed.keys[0]), "--quorum", "2"], "--quorum must be 1 to 1"),
    ]:
        status, output = witnessed.verify(bundle, *args)
        assert status == 2 and said in output, output
