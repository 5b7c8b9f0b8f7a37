"""The metrics module: the dashboard is built on its names, store commands are timed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness import REPO
from parley import metrics
from parley.store import open_store

DASHBOARD = REPO / "docs" / "grafana-dashboard.json"
#: PromQL's own words in the dashboard's expressions: functions, aggregations, keywords.
PROMQL = {"sum", "max", "count", "rate", "increase", "histogram_quantile", "time", "by"}
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
    "info": ("_info",),
}


def defined() -> dict[str, str]:
    """Every sample name the registry can expose, to the family it belongs to."""
    names = {}
    for family in metrics.REGISTRY.collect():
        for suffix in SUFFIXES.get(family.type, ("",)):
            names[family.name + suffix] = family.name
    return names


def named_in(expr: str) -> set[str]:
    """The metric names an expression reads: what is left once label matchers, ranges,
    grouping labels, strings and numbers are taken out, less PromQL's own words."""
    bare = re.sub(r'\{[^}]*\}|\[[^\]]*\]|by \([^)]*\)|"[^"]*"|\b[0-9.]+\b', " ", expr)
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)) - PROMQL


def test_the_dashboard_reads_only_metrics_parley_defines_and_shows_each_of_them() -> None:
    """Metrics: every expression of docs/grafana-dashboard.json names metrics metrics.py
    defines (a renamed metric breaks this test, not the operator's dashboard)."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    names = defined()
    shown: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            read = named_in(target["expr"])
            assert read, f"{panel['title']}: {target['expr']} reads no metric"
            unknown = read - names.keys()
            assert not unknown, f"{panel['title']}: {sorted(unknown)} are not defined"
            shown |= {names[n] for n in read}
            assert target["datasource"]["uid"] == "${datasource}", "the datasource variable"
    parley = {family for family in names.values() if family.startswith("parley_")}
    assert parley <= shown, f"not on the dashboard: {sorted(parley - shown)}"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"


def test_the_expression_reader_sees_past_labels_and_functions() -> None:
    expr = 'histogram_quantile(0.99, sum by (le, operation) (rate(x_bucket{a="b"}[5m])))'
    assert named_in(expr) == {"x_bucket"}


async def test_every_store_command_is_timed_by_backend_and_operation(tmp_path: Path) -> None:
    """Metrics: open_store times the Store interface's commands, not maintain or close."""
    store = await open_store(f"sqlite:{tmp_path / 'parley.db'}")
    try:
        timed = metrics.STORE_LATENCY.labels("sqlite", "policies")
        before = _count(timed)
        await store.policies()
        await store.policies()
        assert _count(timed) == before + 2
        assert store.maintain.__name__ == "maintain", "runs for the store's life: not timed"
    finally:
        await store.close()


def _count(child: object) -> float:
    (count,) = [
        s.value
        for family in child.collect()  # type: ignore[attr-defined]
        for s in family.samples
        if s.name.endswith("_count")
    ]
    return float(count)
