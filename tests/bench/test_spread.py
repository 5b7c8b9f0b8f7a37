"""bench/spread.py: the median and range of several runs, and how many met the target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import REPO


def run_with(rows: list[tuple[float, float, bool]]) -> dict[str, Any]:
    return {
        "rows": [
            {"scenario": "relay", "metric": "SQLite msgs/s", "parley": p, "echo": e,
             "ratio": p / e, "target": "≥ 0.3x", "met": met}
            for p, e, met in rows
        ]
    }  # fmt: skip


def test_three_runs_give_the_median_the_range_and_the_count_met(tmp_path: Path) -> None:
    files = []
    for n, (parley, echo, met) in enumerate(
        [(100, 1000, False), (400, 1000, True), (200, 500, True)]
    ):
        path = tmp_path / f"{n}.json"
        path.write_text(json.dumps(run_with([(parley, echo, met)])))
        files.append(str(path))
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "spread.py"), *files],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    [line] = [row for row in out.splitlines() if row.startswith("relay")]
    assert "200 (100 to 400)" in line
    assert "0.40x (0.10 to 0.40)" in line
    assert line.rstrip().endswith("2/3")
