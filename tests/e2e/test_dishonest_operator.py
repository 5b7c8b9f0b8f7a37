"""The dishonest operator: rewrite a closed conversation, rebuild the log, re-sign it.

The operator holds the signing key, so everything the key alone protects falls:
the rewritten transcript is re-hashed, the Merkle log rebuilt over the new head,
and a fresh checkpoint signed with the real key — a bundle exported afterwards
verifies under the operator's published key. What still catches the rewrite is
what the operator does not control:

- the witness, which cosigned the true log, refuses the forked checkpoint and
  keeps it as evidence (``GET /forks``);
- a monitor that saw the true checkpoint reports the log INCONSISTENT, naming
  both roots;
- ``parley evidence verify --witness`` fails: no witness cosigned the new tree,
  and the true tree's cosignature does not fit it;
- the visitor's signed receipt of the closure contradicts the new bundle.
"""

from __future__ import annotations

import base64
import functools
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import Server, agent, api, parley, visitor
from parley import keys
from parley.domain import note
from parley.domain.anchor import Checkpoint, Leaf, key_id, public_bytes, sign, sign_note
from parley.domain.transcript import Event
from parley.store.sqlite import SQLiteStore
from tlog import ORIGIN, WitnessProcess, log_key

REWRITTEN = "Thanks, that answers my question."


@dataclass
class Scene:
    folder: Path
    server: Server
    witness: WitnessProcess
    agent: str
    compliance: str

    @functools.cached_property
    def public_key(self) -> str:
        return self.server.cli("keys").stdout.split("public key (base64): ")[1].split()[0]

    @functools.cached_property
    def log_key(self) -> str:
        return str(log_key(self.server.data_dir))

    async def export(self, conversation_id: str, name: str) -> Path:
        r = await api(
            self.server,
            f"/api/compliance/conversations/{conversation_id}/evidence",
            self.compliance,
        )
        assert r.status_code == 200, r.text
        path = self.folder / f"{name}.json"
        path.write_text(r.text)
        return path

    def verify(self, bundle: Path, *args: str) -> tuple[int, str]:
        result = parley("evidence", "verify", str(bundle), "--public-key", self.public_key, *args)
        return result.returncode, result.stdout + result.stderr

    def verify_receipt(self, receipt: Path, bundle: Path) -> tuple[int, str]:
        result = parley("evidence", "verify-receipt", str(receipt), "--public-key", self.public_key,
                        "--bundle", str(bundle))  # fmt: skip
        return result.returncode, result.stdout + result.stderr

    def monitor(self) -> tuple[int, str]:
        vkey = self.log_key
        state = str(self.folder / "monitor.json")
        result = parley("log", "monitor", self.server.http, "--public-key", vkey,
                        "--state", state, "--once")  # fmt: skip
        return result.returncode, result.stdout + result.stderr


@pytest.fixture
def scene(tmp_path: Path) -> Iterator[Scene]:
    key = log_key(tmp_path / "data")
    witness = WitnessProcess(tmp_path / "witness", key, name="witness.test/auditor").start()
    server = Server(
        tmp_path / "data",
        PARLEY_LOG_ORIGIN=ORIGIN,
        PARLEY_WITNESSES=f"{witness.vkey} {witness.url}",
    )
    try:
        server.start()
        agent = server.add_staff("Alice Agent", "agent")
        compliance = server.add_staff("Carol Compliance", "compliance")
        yield Scene(tmp_path, server, witness, agent, compliance)
    finally:
        server.stop()
        witness.stop()


async def closed_with_receipt(scene: Scene) -> tuple[str, dict[str, Any]]:
    """A conversation closed under 1.2, and the receipt the visitor got for the closure."""
    async with visitor(scene.server) as v, agent(scene.server, scene.agent) as a:
        conversation_id = await v.accept()
        await v.say("this is unacceptable", "m1")
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "1.2"})
        await a.expect("done")
        while (frame := await v.recv())["type"] != "receipt":
            pass
    return conversation_id, frame["receipt"]


def rewrite(db_path: Path, conversation_id: str, seq: int, text: str) -> None:
    """Replace message ``seq``'s text and re-hash the chain from there, as the operator would."""
    db = sqlite3.connect(db_path)
    rows = db.execute(
        "SELECT body FROM events WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
    ).fetchall()
    prev = None
    for (body,) in rows:
        record = json.loads(body)
        if record["seq"] == seq:
            record["data"]["text"] = text
        if prev is not None:
            record["prev_hash"] = prev
        record["hash"] = Event.from_dict(record).computed_hash()
        prev = record["hash"]
        db.execute(
            "UPDATE events SET body = ? WHERE conversation_id = ? AND seq = ?",
            (json.dumps(record), conversation_id, record["seq"]),
        )
    (snapshot,) = db.execute(
        "SELECT snapshot FROM conversations WHERE id = ?", (conversation_id,)
    ).fetchone()
    summary = json.loads(snapshot)
    summary["head_hash"] = prev
    db.execute(
        "UPDATE conversations SET snapshot = ? WHERE id = ?", (json.dumps(summary), conversation_id)
    )
    db.commit()
    db.close()


async def rebuild_log(data_dir: Path, conversation_id: str) -> int:
    """Rebuild the whole log over the rewritten head and re-sign it: same size, new root."""
    db_path = data_dir / "parley.db"
    db = sqlite3.connect(db_path)
    heads = {
        json.loads(body)["seq"]: json.loads(body)["hash"]
        for (body,) in db.execute(
            "SELECT body FROM events WHERE conversation_id = ?", (conversation_id,)
        )
    }
    leaves = []
    for (body,) in db.execute("SELECT body FROM leaves ORDER BY idx"):
        leaf = json.loads(body)
        if leaf["conversation_id"] == conversation_id:
            leaf["head_hash"] = heads[leaf["seq"]]
        leaves.append(Leaf(**leaf))
    (latest,) = db.execute("SELECT max(tree_size) FROM checkpoints").fetchone()
    db.execute("DELETE FROM leaves")
    db.execute("DELETE FROM merkle_nodes")
    db.execute("DELETE FROM checkpoints")
    db.commit()
    db.close()
    key, _ = keys.load_or_create(data_dir / "signing-key.pem")
    store = await SQLiteStore.open(db_path)
    try:
        for leaf in leaves[:latest]:
            await store.append_leaf(leaf)
        root = await store.merkle_root(latest)
        at = leaves[latest - 1].at
        checkpoint = Checkpoint(
            ORIGIN, latest, root.hex(), at, key_id(public_bytes(key.public_key()))
        )
        await store.save_checkpoint(checkpoint, sign(key, checkpoint), sign_note(key, checkpoint))
        for leaf in leaves[latest:]:
            await store.append_leaf(leaf)
    finally:
        await store.close()
    return latest


async def test_a_rewritten_and_re_signed_log_is_caught_by_witness_monitor_and_verify(
    scene: Scene,
) -> None:
    conversation_id, kept = await closed_with_receipt(scene)
    receipt = scene.folder / "receipt.json"
    receipt.write_text(json.dumps(kept))
    honest = await scene.export(conversation_id, "honest")
    status, said = scene.verify_receipt(receipt, honest)
    assert status == 0, said
    witness_key = str(scene.witness.vkey)
    status, said = scene.verify(honest, "--witness", witness_key)
    assert status == 0, said
    status, said = scene.monitor()
    assert status == 0, said
    honest_note = json.loads(honest.read_text())["anchor"]["note"]

    # The operator rewrites what the visitor said, then rebuilds and re-signs the log.
    scene.server.stop()
    rewrite(scene.server.data_dir / "parley.db", conversation_id, 2, REWRITTEN)
    size = await rebuild_log(scene.server.data_dir, conversation_id)
    scene.server.start()

    # The monitor remembers the true checkpoint: same size, another root.
    status, said = scene.monitor()
    assert status == 1, said
    assert f"INCONSISTENT {ORIGIN}" in said
    print("monitor:", said)
    true_root = note.CheckpointBody.parse(note.parse(honest_note).text).root
    forked = note.CheckpointBody.parse(
        note.parse((await api(scene.server, "/log/checkpoint")).text).text
    )
    assert forked.size >= size and forked.root != true_root

    # The new bundle holds together under the operator's own key...
    forged = await scene.export(conversation_id, "forged")
    bundle = json.loads(forged.read_text())
    assert bundle["transcript"][1]["data"]["text"] == REWRITTEN
    status, said = scene.verify(forged)
    assert status == 0, said
    # ...yet the receipt the visitor keeps, signed with that same key, contradicts it.
    status, said = scene.verify_receipt(receipt, forged)
    assert status == 1, said
    assert "event_hash" in said and kept["receipt"]["event_hash"] in said
    # ...but the witness refused to cosign the forked log, and kept it as evidence.
    status, said = scene.verify(forged, "--witness", witness_key)
    assert status == 1, said
    assert "no cosignature by witness.test/auditor" in said
    async with httpx.AsyncClient() as http:
        forks = (await http.get(f"{scene.witness.url}/forks")).json()["forks"]
    assert forks and all(f["origin"] == ORIGIN for f in forks)
    true = base64.b64encode(true_root).decode()
    assert any(f"(root {true})" in f["reason"] and "does not verify" in f["reason"] for f in forks)
    # The true tree's cosignature grafted onto the new note does not fit it.
    cosignature = next(line for line in honest_note.splitlines(keepends=True)
                       if line.startswith("\u2014 witness.test/auditor "))  # fmt: skip
    bundle["anchor"]["note"] += cosignature
    forged.write_text(json.dumps(bundle))
    status, said = scene.verify(forged, "--witness", witness_key)
    assert status == 1, said
    assert "signature by witness.test/auditor" in said and "is not valid" in said
