"""/metrics during ``make bench``: each Parley process scraped as it starts and before it stops.

Every benchmark server gets a metrics address of its own (``PARLEY_METRICS_ADDRESS``), so
the scrapes need no token and go through the listener Prometheus would use. A record keeps
both scrapes' Parley series and what moved between them; :func:`summary` is the short form
printed at the end of a run and kept in its JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness import Server, free_port

#: Series kept in a dump: Parley's own, and the process's memory and CPU.
KEPT = ("parley_", "process_resident_memory_bytes", "process_cpu_seconds_total")
#: Left out: a bucket per operation and bound would make the dump most of a run's JSON;
#: the count and sum of each operation stay.
DROPPED = "parley_store_command_seconds_bucket"


def scrape(address: str) -> dict[str, float]:
    """Every kept sample of ``address``'s /metrics, as ``name{label="value",...}``."""
    text = httpx.get(f"http://{address}/metrics", timeout=30).text
    return {
        _key(s.name, s.labels): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith(KEPT) and s.name != DROPPED
    }


def _key(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}" if inner else name


@dataclass
class Record:
    """One server's run within a scenario: its series at start, at the end, and the change."""

    scenario: str
    server: str
    start: dict[str, float]
    end: dict[str, float] = field(default_factory=dict)

    @property
    def moved(self) -> dict[str, float]:
        """Each series that changed, by how much (a gauge's change too)."""
        names = self.start.keys() | self.end.keys()
        change = {n: self.end.get(n, 0.0) - self.start.get(n, 0.0) for n in sorted(names)}
        return {n: d for n, d in change.items() if d and "_bucket{" not in n}

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "server": self.server, "moved": self.moved,
                "start": self.start, "end": self.end}  # fmt: skip


class Recorder:
    """The records of a run; :attr:`scenario` is set by the runner as it goes."""

    def __init__(self) -> None:
        self.scenario = ""
        self.records: list[Record] = []

    def server(self, data: Path, policies: Path, **env: str) -> MeteredServer:
        return MeteredServer(self, data, policies, **env)


class MeteredServer(Server):
    """A benchmark server with a metrics address, scraped when it starts and before it stops."""

    def __init__(self, recorder: Recorder, data: Path, policies: Path, **env: str) -> None:
        self.metrics_address = f"127.0.0.1:{free_port()}"
        super().__init__(data, policies, PARLEY_METRICS_ADDRESS=self.metrics_address, **env)
        self.recorder = recorder
        self.record: Record | None = None

    def start(self) -> MeteredServer:
        super().start()
        self.record = Record(self.recorder.scenario, self.http, scrape(self.metrics_address))
        self.recorder.records.append(self.record)
        return self

    def stop(self) -> None:
        if self.record is not None and self.proc is not None and self.proc.poll() is None:
            self.record.end = scrape(self.metrics_address)
            self.record = None
        super().stop()


def summary(record: Record) -> dict[str, float]:
    """The figures that show a scenario's load in the metrics, from what moved."""
    moved = record.moved

    def total(prefix: str) -> float:
        return sum(v for k, v in moved.items() if k.startswith(prefix))

    def mean_ms(histogram: str) -> float:
        count = total(f"{histogram}_count")
        return round(total(f"{histogram}_sum") / count * 1000, 3) if count else 0.0

    return {
        "frames received": total("parley_frames_received_total"),
        "frames sent": total("parley_frames_sent_total"),
        "visitor messages": total('parley_frames_received_total{role="visitor",type="message"}'),
        "acks (count)": total("parley_ack_latency_seconds_count"),
        "ack mean ms": mean_ms("parley_ack_latency_seconds"),
        "relays to agents": total("parley_relay_latency_seconds_count"),
        "relay mean ms": mean_ms("parley_relay_latency_seconds"),
        "store commands": total("parley_store_command_seconds_count"),
        "store mean ms": mean_ms("parley_store_command_seconds"),
        "errors": total("parley_errors_total"),
        "cpu s": round(total("process_cpu_seconds_total"), 2),
    }
