"""The spread of several benchmark runs: median and range of every figure and ratio.

    .venv/bin/python bench/spread.py bench/results/A.json bench/results/B.json ...

Runs on these shared machines drift from minute to minute, so one run proves
little: this prints, for each row the runs share, the median Parley figure,
its lowest and highest, and the same for the ratio to echo measured in each
run, with how many of the runs met the target.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from report import layout


def spread(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per (scenario, metric), in the order of the first run."""
    keyed: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        for r in run["rows"]:
            keyed.setdefault((r["scenario"], r["metric"]), []).append(r)
    summary = []
    for (scenario, metric), rows in keyed.items():
        figures = [r["parley"] for r in rows if r["parley"] is not None]
        ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
        judged = [r["met"] for r in rows if r["met"] is not None]
        summary.append(
            {
                "scenario": scenario,
                "metric": metric,
                "runs": len(rows),
                "parley": _range(figures),
                "ratio": _range(ratios),
                "target": rows[0]["target"],
                "met": f"{sum(judged)}/{len(judged)}" if judged else "",
            }
        )
    return summary


def _range(values: list[float]) -> tuple[float, float, float] | None:
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def table(summary: list[dict[str, Any]]) -> str:
    head = ("scenario", "metric", "Parley median (range)", "ratio median (range)", "target", "met")
    lines = [head]
    for s in summary:
        figure = s["parley"]
        ratio = s["ratio"]
        lines.append(
            (
                s["scenario"],
                s["metric"],
                f"{_num(figure[0])} ({_num(figure[1])} to {_num(figure[2])})" if figure else "—",
                f"{ratio[0]:.2f}x ({ratio[1]:.2f} to {ratio[2]:.2f})" if ratio else "—",
                s["target"],
                s["met"],
            )
        )
    return layout(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="bench/results/*.json files")
    args = parser.parse_args()
    runs = [json.loads(p.read_text()) for p in args.results]
    print(table(spread(runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
