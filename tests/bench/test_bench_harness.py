"""The benchmark harness runs end to end at tiny sizes, and its checks can fail.

This is not a performance test: it proves ``make bench`` still works (servers
start, every scenario runs against Parley and the echo baseline, the JSON is
written) and that the correctness counters it reports are real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness import REPO


# As long as the run itself may take: on a busy machine it can outlast the suite's 120 s.
@pytest.mark.timeout(600)
def test_quick_run_covers_every_scenario_and_loses_nothing(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    [path] = tmp_path.glob("*-quick.json")
    results = json.loads(path.read_text())
    assert results["machine"]["cores"] >= 1 and results["machine"]["python"]
    scenarios = {r["scenario"] for r in results["rows"]}
    assert scenarios == {
        "relay", "latency", "consoles", "gate", "idle", "scale-out", "resume", "anchor"
    }  # fmt: skip
    for row in results["rows"]:
        assert row["parley"] is not None and row["echo"] is not None, row
    detail = results["scenarios"]
    assert detail["latency"]["sqlite"]["lost"] == 0
    assert detail["latency"]["sqlite"]["samples"] > 0
    consoles = detail["consoles"]["sqlite"]
    assert consoles["lost"] == 0 and consoles["samples"] > 0
    assert (
        consoles["consoles"]
        == consoles["conversations"]
        == results["sizes"]["console_conversations"]
    )
    assert consoles["list_updates"] == "delta" and consoles["list_bytes_per_second"] > 0
    assert detail["resume"]["sqlite"]["lost_or_repeated"] == 0
    assert detail["resume"]["sqlite"]["complete"] == results["sizes"]["resume_clients"]
    idle = detail["idle"]["sqlite"]
    assert idle["alive_after_hold"] == idle["connections"] == results["sizes"]["idle_connections"]
    for backend in ("sqlite", "redis"):
        anchor = detail["anchor"][backend]
        assert anchor["leaves"] == results["sizes"]["anchor_leaves"]
        assert anchor["after"]["p50_ms"] > 0 and anchor["before"]["p50_ms"] > 0
    for name in ("relay", "scaleout"):
        for figures in detail[name].values():
            assert figures["messages"] > 0, (name, figures)
    assert "relay" in run.stdout and "results:" in run.stdout
    # Metrics: each Parley process was scraped at its start and stop, and the figures moved
    # with the load (warm-up messages included, so at least what the load generator counted).
    relay = [m for m in results["metrics_summary"] if m["scenario"] == "relay"]
    assert len(relay) == 2, "one SQLite process, one Redis process"
    loads = (detail["relay"]["sqlite"], detail["relay"]["redis"])
    for figures, measured in zip(relay, loads, strict=True):
        assert figures["acks (count)"] >= measured["messages"] > 0, (figures, measured)
        assert figures["relays to agents"] > 0 and figures["errors"] == 0, figures
    assert {m["scenario"] for m in results["metrics"]} >= {"relay", "latency", "resume"}
    assert "/metrics: what moved" in run.stdout
