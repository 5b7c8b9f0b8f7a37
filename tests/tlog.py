"""Real parts for the witness and monitor tests: a small transparency log that signs
checkpoints with a real key and serves Parley's public log endpoints over real
HTTP, and ``parley witness serve`` in a subprocess.

The log is a list of leaf hashes the test grows or rewrites (``fork``), exactly
what a dishonest operator could do to its own store; its checkpoints and
consistency proofs come from ``parley.domain.merkle`` and ``parley.domain.note``.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import launcher
from harness import free_port, parley, wait_until_serving
from parley.domain import merkle, note
from parley.domain.note import CheckpointBody, VerifierKey

#: The origin of the tests' logs: a TinyLog's by default, and the Parley servers' the
#: end-to-end witness tests start.
ORIGIN = "parley.test/transcript-log"
WITNESS_NAME = "witness.example/w1"


class TinyLog:
    """A Merkle log of ``leaves`` whose checkpoints ``key`` signs under ``origin``."""

    def __init__(self, origin: str = ORIGIN, key: Ed25519PrivateKey | None = None) -> None:
        self.origin = origin
        self.key = key or Ed25519PrivateKey.generate()
        self.leaves: list[bytes] = []
        self.cosignatures: list[note.Signature] = []

    @property
    def vkey(self) -> VerifierKey:
        return VerifierKey.of(self.origin, self.key, note.ED25519)

    def append(self, count: int, tag: str = "") -> TinyLog:
        start = len(self.leaves)
        self.leaves += [merkle.leaf_hash(f"{tag}entry {start + i}".encode()) for i in range(count)]
        return self

    def fork(self, index: int) -> None:
        """Rewrite the entry at ``index``: the operator's edit, then its re-signed log."""
        self.leaves[index] = merkle.leaf_hash(f"rewritten entry {index}".encode())
        self.cosignatures = []

    def root(self, size: int | None = None) -> bytes:
        return merkle.root(self.leaves[: len(self.leaves) if size is None else size])

    def text(self, size: int | None = None) -> str:
        size = len(self.leaves) if size is None else size
        return CheckpointBody(self.origin, size, self.root(size)).text()

    def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint of the first ``size`` leaves (all of them by default)."""
        text = self.text(size)
        return note.Note(text, (note.sign(text, self.origin, self.key),)).render()

    def proof(self, old: int, new: int | None = None) -> list[bytes]:
        new = len(self.leaves) if new is None else new
        return merkle.consistency_proof(old, self.leaves[:new])

    def request(self, old: int, size: int | None = None, proof: list[bytes] | None = None) -> bytes:
        """An ``add-checkpoint`` body from ``old`` to ``size``, with the right proof by default."""
        proof = self.proof(old, size) if proof is None else proof
        head = "".join(f"{base64.b64encode(h).decode()}\n" for h in proof)
        return f"old {old}\n{head}\n{self.checkpoint(size)}".encode()

    def app(self) -> Starlette:
        """Parley's public log endpoints over this log: what ``parley log monitor`` reads."""

        async def checkpoint(request: Request) -> Response:
            text = self.text()
            signatures = (note.sign(text, self.origin, self.key), *self.cosignatures)
            return PlainTextResponse(note.Note(text, signatures).render())

        async def consistency(request: Request) -> Response:
            old, new = int(request.query_params["old"]), int(request.query_params["new"])
            proof = [base64.b64encode(h).decode() for h in self.proof(old, new)]
            return JSONResponse({"old_size": old, "new_size": new, "proof": proof})

        return Starlette(
            routes=[
                Route("/log/checkpoint", checkpoint),
                Route("/log/consistency", consistency),
            ]
        )


class Served:
    """An ASGI app under uvicorn on a free loopback port, in a thread of the test process."""

    def __init__(self, app: Starlette) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, ws="none", lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class WitnessProcess:
    """``parley witness serve`` in a subprocess following ``logs``, its state in ``folder``."""

    def __init__(self, folder: Path, *logs: VerifierKey, name: str = WITNESS_NAME) -> None:
        self.folder = folder
        self.key_file = folder / "witness.pem"
        self.state = folder / "witness.db"
        self.name = name
        self.logs = logs
        self.port = free_port()
        self.proc: launcher.Process | None = None
        self.log = folder / f"witness-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return parley("witness", *args)

    @property
    def vkey(self) -> VerifierKey:
        result = self.cli("key", "--key", str(self.key_file), "--name", self.name)
        assert result.returncode == 0, result.stderr
        return VerifierKey.parse(result.stdout)

    def start(self) -> WitnessProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["serve", "--key", str(self.key_file), "--name", self.name]
        args += ["--state", str(self.state), "--port", str(self.port)]
        for vkey in self.logs:
            args += ["--log", str(vkey)]
        self.proc = launcher.start(["witness", *args], dict(os.environ), self.log)
        wait_until_serving(self.proc, f"{self.url}/forks", self.log, "witness")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def log_key(data_dir: Path) -> VerifierKey:
    """Create the server's signing key before it starts: witnesses must know it first."""
    result = parley("keys", "--data-dir", str(data_dir), env={"PARLEY_LOG_ORIGIN": ORIGIN})
    assert result.returncode == 0, result.stderr
    return VerifierKey.parse(result.stdout.split("log verifier key: ")[1].split()[0])
