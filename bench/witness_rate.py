"""How many cosignatures per second one ``parley witness serve`` sustains.

A log of the bench's own grows by one to eight entries per checkpoint; every
request carries the previous cosigned size and a real RFC 9162 consistency proof,
so the witness verifies the log's Ed25519 signature and the proof, cosigns, and
commits the new checkpoint to SQLite (``synchronous=FULL``: one fsync per
cosignature) before answering. Requests are sequential over one keep-alive
connection — the spec's client — so the figure is the latency-bound rate of one
log. The bodies are built before the clock starts. For scale, the same checks
and cosignature without HTTP or SQLite, in this process.

    .venv/bin/python bench/witness_rate.py [--checkpoints 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))  # the tests' real parts: TinyLog, WitnessProcess

from parley.witness.protocol import Witness, check, parse_request  # noqa: E402
from tlog import TinyLog, WitnessProcess  # noqa: E402


def requests(log: TinyLog, count: int) -> list[bytes]:
    rng = random.Random(14)
    bodies, old = [], 0
    for _ in range(count):
        log.append(rng.randint(1, 8))
        bodies.append(log.request(old))
        old = len(log.leaves)
    return bodies


async def over_http(url: str, bodies: list[bytes]) -> list[float]:
    took = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for body in bodies:
            start = time.perf_counter()
            response = await http.post("/add-checkpoint", content=body)
            took.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
    return took


def in_process(log: TinyLog, bodies: list[bytes]) -> float:
    witness = Witness.configure("bench.example/w", log.key, [str(log.vkey)])
    start = time.perf_counter()
    latest = None
    for body in bodies:
        submission = parse_request(body)
        signatures = witness.authenticate(submission)
        check(submission, latest)
        _, latest = witness.cosign(submission, signatures, 1_800_000_000)
    return len(bodies) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", type=int, default=2000)
    args = parser.parse_args()
    log = TinyLog()
    bodies = requests(log, args.checkpoints)
    with tempfile.TemporaryDirectory() as folder:
        witness = WitnessProcess(Path(folder), log.vkey).start()
        try:
            took = asyncio.run(over_http(witness.url, bodies))
        finally:
            witness.stop()
    ms = sorted(t * 1000 for t in took)
    print(f"{len(took)} sequential cosignatures, log grew to {len(log.leaves)} entries")
    print(f"  over HTTP + SQLite: {len(took) / sum(took):.0f}/s")
    print(
        f"  latency ms: median {statistics.median(ms):.2f}  p99 {ms[int(len(ms) * 0.99)]:.2f}"
        f"  max {ms[-1]:.2f}"
    )
    print(f"  checks + cosignature in process, no I/O: {in_process(log, bodies):.0f}/s")


if __name__ == "__main__":
    main()
