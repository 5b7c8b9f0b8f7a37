"""``make bench``: start what each scenario needs, drive it, print one table, write JSON.

Servers: Parley on SQLite (one process), Parley on Redis (one process, then
two), and the bare ``websockets`` echo baseline, each on a free loopback port
with its own data folder. Every Parley figure is printed next to the echo
figure from the same run and their ratio, because these shared machines are
noisy and only ratios travel between runs.

    .venv/bin/python bench/run.py                 # everything, about 13 minutes
    .venv/bin/python bench/run.py --quick         # tiny sizes: checks the harness works
    .venv/bin/python bench/run.py --only relay latency
    .venv/bin/python bench/run.py --only consoles --list-updates full   # a server without deltas

One scenario has no echo counterpart: ``anchor`` times the Merkle log inside
this process, and its baseline column is the old full rebuild of the tree.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import gc
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import uvloop

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests"))  # the tests' real-process harness: Server, RedisServer

import loadgen  # noqa: E402
import merkle_log  # noqa: E402
import metrics_dump  # noqa: E402
from harness import POLICIES, RedisServer, Server, free_port, listening  # noqa: E402
from loadgen import Target  # noqa: E402
from metrics_dump import Recorder  # noqa: E402
from report import layout  # noqa: E402

SCENARIOS = ("relay", "latency", "consoles", "gate", "idle", "scaleout", "resume", "anchor")


@dataclass(frozen=True)
class Sizes:
    agents: int
    relays: int
    seconds: float
    warmup: float
    latency_conversations: int
    latency_seconds: float
    console_conversations: int  # each with a console of its own, all seeing the list
    gate_concurrency: int
    idle_connections: int
    idle_hold: float
    resume_clients: int
    anchor_leaves: int
    anchor_repetitions: int
    anchor_before: int  # repetitions of the old full rebuild, each about a third of a second


FULL = Sizes(
    agents=10,  # each console joined to a tenth of the conversations, all seeing the list
    relays=100,
    seconds=10,
    warmup=2,
    latency_conversations=1000,
    latency_seconds=30,
    console_conversations=500,
    gate_concurrency=20,
    idle_connections=10_000,
    idle_hold=25,  # longer than the 20 s keepalive interval: every connection is pinged
    resume_clients=1000,
    anchor_leaves=100_000,
    anchor_repetitions=2000,
    anchor_before=10,
)
QUICK = Sizes(
    agents=2,
    relays=10,
    seconds=1,
    warmup=0.5,
    latency_conversations=20,
    latency_seconds=2,
    console_conversations=20,
    gate_concurrency=4,
    idle_connections=50,
    idle_hold=0.5,
    resume_clients=20,
    anchor_leaves=300,
    anchor_repetitions=50,
    anchor_before=5,
)

# Every benchmark visitor comes from 127.0.0.1 and sends as fast as it can: the
# flooding limits would (rightly) stop it, so they are lifted for the run.
PARLEY_ENV = {
    "PARLEY_MESSAGES_PER_MINUTE": "100000000",
    "PARLEY_CONVERSATIONS_PER_HOUR": "100000000",
}


def cpu_seconds(pid: int) -> float:
    """CPU time a process (all its threads) has used so far, user and system, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss(pid: int) -> int:
    """Resident set size of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class Echo:
    """``bench/echo.py`` in a subprocess."""

    def __init__(self, folder: Path, compression: bool = False) -> None:
        self.port = free_port()
        self.args = [sys.executable, str(BENCH / "echo.py"), "--port", str(self.port)]
        self.args += ["--compression"] if compression else []
        self.log = folder / f"echo-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Echo:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        if not listening(self.port):
            raise RuntimeError(f"echo server did not start:\n{self.log.read_text()}")
        return self

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None:
            self.proc.kill() if kill else self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None


class Bench:
    """The servers of one run, started on demand and stopped at the end."""

    def __init__(
        self,
        folder: Path,
        agents: int,
        profiles: Path | None = None,
        list_updates: str | None = None,
    ) -> None:
        self.folder = folder
        self.agents = agents
        self.profiles = profiles
        #: What the ``consoles`` scenario's consoles ask for in ``hello`` (None: nothing).
        self.list_updates = list_updates
        self._stack = contextlib.ExitStack()
        self._count = 0
        #: Each Parley process's /metrics at its start and before it stops.
        self.metrics = Recorder()

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _dir(self, name: str) -> Path:
        self._count += 1
        return self.folder / f"{self._count:02d}-{name}"

    def echo(self, compression: bool = False) -> Echo:
        e = Echo(self.folder, compression).start()
        self._stack.callback(e.stop)
        return e

    def redis(self) -> RedisServer:
        r = RedisServer(self._dir("redis")).start()
        self._stack.callback(r.stop)
        return r

    def parley(self, processes: int = 1, store: str | None = None) -> tuple[list[Server], Target]:
        """Parley processes sharing one store (SQLite by default), with agent tokens."""
        env = {**PARLEY_ENV, **({"PARLEY_STORE": store} if store else {})}
        data = self._dir("parley")
        servers: list[Server] = [
            self.metrics.server(data, POLICIES, **env).start() for _ in range(processes)
        ]
        for s in servers:
            self._stack.callback(s.stop)
            if self.profiles is not None:
                assert s.proc is not None
                self._profile(s.proc.pid, data.name)
        tokens = [servers[0].add_staff(f"Bench agent {i}", "agent") for i in range(self.agents)]
        return servers, Target("parley", [s.ws for s in servers], tokens)

    def _profile(self, pid: int, name: str) -> None:
        """Sample ``pid`` with py-spy until it exits; collapsed stacks land in ``profiles``."""
        assert self.profiles is not None
        self.profiles.mkdir(parents=True, exist_ok=True)
        out = self.profiles / f"{name}-{pid}.txt"
        args = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid)]
        args += ["--format", "raw", "--rate", "200", "--nonblocking", "--threads"]
        spy = subprocess.Popen(
            [*args, "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._stack.callback(spy.wait, 30)


@contextlib.contextmanager
def stopping(*servers: Server | Echo | RedisServer) -> Iterator[None]:
    """Stop these servers when the scenario ends, so the next one has the machine to itself."""
    try:
        yield
    finally:
        for s in servers:
            s.stop()


def row(
    scenario: str,
    metric: str,
    parley: float,
    echo: float,
    target: str,
    met: bool | None,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    ratio = (parley / echo if higher_is_better else echo / parley) if parley and echo else None
    return {
        "scenario": scenario,
        "metric": metric,
        "parley": parley,
        "echo": echo,
        "ratio": ratio,
        "target": target,
        "met": met,
    }


async def relay(b: Bench, s: Sizes, out: dict[str, Any]) -> list[dict[str, Any]]:
    e = b.echo()
    with stopping(e):
        echo = await loadgen.throughput(Target("echo", [e.ws]), s.relays, s.seconds, s.warmup)
    servers, target = b.parley()
    with stopping(*servers):
        sqlite = await loadgen.throughput(target, s.relays, s.seconds, s.warmup)
    redis = b.redis()
    servers, target = b.parley(store=redis.url)
    with stopping(*servers, redis):
        on_redis = await loadgen.throughput(target, s.relays, s.seconds, s.warmup)
    out.update(echo=echo, sqlite=sqlite, redis=on_redis)
    baseline = echo["per_second"]
    return [
        row("relay", f"{name} msgs/s", rate, baseline, f"≥ {least}x", rate / baseline >= least)
        for name, rate, least in (
            ("SQLite", sqlite["per_second"], 0.3),
            ("Redis", on_redis["per_second"], 0.2),
        )
    ]


async def latency(b: Bench, s: Sizes, out: dict[str, Any]) -> list[dict[str, Any]]:
    args = (s.latency_conversations, 1.0, s.latency_seconds, 5 if s is FULL else 0.5)
    e = b.echo()
    with stopping(e):
        echo = await loadgen.latency(Target("echo", [e.ws]), *args)
    servers, target = b.parley()
    with stopping(*servers):
        parley = await loadgen.latency(target, *args)
    out.update(echo=echo, sqlite=parley)
    rows = [
        row("latency", f"{q} ms", parley[f"{q}_ms"], echo[f"{q}_ms"], t, m, higher_is_better=False)
        for q, t, m in (
            ("p50", "", None),
            ("p99", "≤ 10 ms", parley["p99_ms"] <= 10),
            ("p999", "", None),
        )
    ]
    rows.append(
        row("latency", "lost messages", parley["lost"], echo["lost"], "0", parley["lost"] == 0)
    )
    return rows


async def consoles(b: Bench, s: Sizes, out: dict[str, Any]) -> list[dict[str, Any]]:
    """The latency scenario with one console per conversation, each joined to its own."""
    n = s.console_conversations
    args = (n, 1.0, s.latency_seconds, 5 if s is FULL else 0.5)
    e = b.echo()
    assert e.proc is not None
    with stopping(e):
        cpu = functools.partial(cpu_seconds, e.proc.pid)
        echo = await loadgen.latency(Target("echo", [e.ws]), *args, cpu=cpu)
    servers, target = b.parley()
    assert servers[0].proc is not None
    with stopping(*servers):
        cpu = functools.partial(cpu_seconds, servers[0].proc.pid)
        parley = await loadgen.latency(
            target, *args, consoles=n, list_updates=b.list_updates, cpu=cpu
        )
    out.update(echo=echo, sqlite=parley)
    p99 = parley["p99_ms"]
    cpu_ms = parley["server_cpu_ms_per_message"], echo["server_cpu_ms_per_message"]
    return [
        row("consoles", "p50 ms", parley["p50_ms"], echo["p50_ms"], "", None, False),
        row("consoles", "p99 ms", p99, echo["p99_ms"], "≤ 50 ms", p99 <= 50, False),
        row("consoles", "server CPU ms per message", *cpu_ms, "", None, False),
        row("consoles", "list bytes/s", parley["list_bytes_per_second"], 0, "", None, False),
        row("consoles", "lost messages", parley["lost"], echo["lost"], "0", parley["lost"] == 0),
    ]


async def gate(b: Bench, s: Sizes, out: dict[str, Any]) -> list[dict[str, Any]]:
    e = b.echo()
    with stopping(e):
        echo = await loadgen.gate(Target("echo", [e.ws]), s.gate_concurrency, s.seconds)
    servers, target = b.parley()
    with stopping(*servers):
        parley = await loadgen.gate(target, s.gate_concurrency, s.seconds)
    out.update(echo=echo, sqlite=parley)
    return [
        row("gate", "new conversations/s", parley["per_second"], echo["per_second"], "", None),
        row("gate", "p99 ms", parley["p99_ms"], echo["p99_ms"], "", None, higher_is_better=False),
    ]


async def idle(b: Bench, s: Sizes, out: dict[str, Any]) -> list[dict[str, Any]]:
    n, hold = s.idle_connections, s.idle_hold
    results = {}
    for name, compression in (("echo", False), ("echo_deflate", True)):
        e = b.echo(compression)
        assert e.proc is not None
        with stopping(e):
            await asyncio.sleep(1)
            target = Target("echo", [e.ws], deflate=compression)
            results[name] = await loadgen.idle(target, n, hold, functools.partial(rss, e.proc.pid))
    servers, target = b.parley()
    with stopping(*servers):
        proc = servers[0].proc
        assert proc is not None
        await warm_up(target)
        results["sqlite"] = await loadgen.idle(target, n, hold, functools.partial(rss, proc.pid))
    out.update(results)
    parley, echo = results["sqlite"], results["echo"]
    kib = parley["kib_per_connection"]
    return [
        row(
            "idle",
            "connections held",
            parley["alive_after_hold"],
            echo["alive_after_hold"],
            "≥ 10,000",
            parley["alive_after_hold"] >= 10_000,
        ),
        row(
            "idle",
            "KiB per connection",
            kib,
            echo["kib_per_connection"],
            "≤ 30 KiB",
            kib <= 30,
            higher_is_better=False,
        ),
        row(
            "idle",
            "KiB/conn, echo with deflate",
            results["echo_deflate"]["kib_per_connection"],
            echo["kib_per_connection"],
            "",
            None,
            higher_is_better=False,
        ),
    ]


async def warm_up(target: Target) -> None:
    """One full gate pass, so first-use allocations are not counted per connection."""
    v = await loadgen.Visitor.start(target.visitor_url(0))
    await v.say("warm-up")
    await v.ws.close()


async def scaleout(b: Bench, s: Sizes, out: dict[str, Any]) -> list[dict[str, Any]]:
    e = b.echo()
    with stopping(e):
        echo = await loadgen.throughput(Target("echo", [e.ws]), s.relays, s.seconds, s.warmup)
    results = {}
    for processes in (1, 2):
        redis = b.redis()
        servers, target = b.parley(processes, store=redis.url)
        with stopping(*servers, redis):
            relays = s.relays * processes
            results[processes] = await loadgen.throughput(target, relays, s.seconds, s.warmup)
    out.update(echo=echo, one=results[1], two=results[2])
    one, two = results[1]["per_second"], results[2]["per_second"]
    return [
        row("scale-out", "Redis, 1 process msgs/s", one, echo["per_second"], "", None),
        row(
            "scale-out",
            "Redis, 2 processes msgs/s",
            two,
            echo["per_second"],
            f"≥ 1.7x one ({two / one:.2f}x)",
            two / one >= 1.7,
        ),
    ]


async def resume(b: Bench, s: Sizes, out: dict[str, Any]) -> list[dict[str, Any]]:
    e = b.echo()

    async def restart_echo() -> None:
        e.stop(kill=True)
        await asyncio.to_thread(e.start)

    with stopping(e):
        echo = await loadgen.resume(Target("echo", [e.ws]), s.resume_clients, restart_echo)
    servers, target = b.parley()
    server = servers[0]

    async def restart_parley() -> None:
        server.kill()
        await asyncio.to_thread(server.start)

    with stopping(server):
        parley = await loadgen.resume(target, s.resume_clients, restart_parley)
    out.update(echo=echo, sqlite=parley)
    secs = parley["caught_up_seconds"]
    return [
        row(
            "resume",
            f"{s.resume_clients} clients caught up, s",
            secs,
            echo["caught_up_seconds"],
            "≤ 2 s",
            secs <= 2,
            higher_is_better=False,
        ),
        row(
            "resume",
            "lost or repeated",
            parley["lost_or_repeated"],
            echo["lost_or_repeated"],
            "0",
            parley["lost_or_repeated"] == 0,
        ),
    ]


async def anchor(b: Bench, s: Sizes, out: dict[str, Any]) -> list[dict[str, Any]]:
    n, args = s.anchor_leaves, (s.anchor_leaves, s.anchor_repetitions, s.anchor_before)
    store, all_hashes = await merkle_log.sqlite_log(b.folder / "anchor.db", n)
    try:
        out["sqlite"] = await merkle_log.measure(store, all_hashes, *args)
    finally:
        await store.close()
    redis = b.redis()
    with stopping(redis):
        out["redis"] = {}
        redis_store, all_hashes = await merkle_log.redis_log(redis.url, n, out["redis"])
        try:
            out["redis"].update(await merkle_log.measure(redis_store, all_hashes, *args))
        finally:
            await redis_store.close()
    rows = []
    for name, figures in (("SQLite", out["sqlite"]), ("Redis", out["redis"])):
        for q, target in (("p50", ""), ("p99", "≤ 1 ms")):
            after, before = figures["after"][f"{q}_ms"], figures["before"][f"{q}_ms"]
            met = after <= 1 if target else None
            metric = f"{name} {q} ms vs full rebuild"
            rows.append(row("anchor", metric, after, before, target, met, higher_is_better=False))
    return rows


RUNNERS: dict[str, Callable[[Bench, Sizes, dict[str, Any]], Any]] = {
    "relay": relay,
    "latency": latency,
    "consoles": consoles,
    "gate": gate,
    "idle": idle,
    "scaleout": scaleout,
    "resume": resume,
    "anchor": anchor,
}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    packages = ("starlette", "uvicorn", "websockets", "uvloop", "httptools", "redis", "hiredis")
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "redis_server": redis_version,
        "packages": {p: metadata.version(p) for p in packages},
        "commit": commit,
        "load_average_at_start": os.getloadavg(),
    }


def table(rows: list[dict[str, Any]]) -> str:
    def num(x: float | None) -> str:
        if x is None:
            return "—"
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"

    head = ("scenario", "metric", "Parley", "echo", "ratio", "target", "met")
    lines = [head]
    for r in rows:
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "—"
        lines.append(
            (r["scenario"], r["metric"], num(r["parley"]), num(r["echo"]), ratio, r["target"], met)
        )
    return layout(lines)


def metrics_table(summaries: list[dict[str, Any]]) -> str:
    """One line per Parley process and scenario: the figures its /metrics moved by."""
    if not summaries:
        return "(no Parley process ran)"
    head = list(summaries[0])
    lines = [tuple(head)] + [tuple(str(s[k]) for k in head) for s in summaries]
    return layout(lines)


async def run(
    names: list[str], sizes: Sizes, folder: Path, profiles: Path | None, list_updates: str
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "sizes": sizes.__dict__,
        "scenarios": {},
        "rows": [],
        "failed": {},
    }
    with Bench(
        folder, sizes.agents, profiles, None if list_updates == "full" else list_updates
    ) as b:
        for name in names:
            print(f"… {name}", flush=True)
            b.metrics.scenario = name
            detail: dict[str, Any] = {}
            # The load generator's own collector would pause every client at once (up to
            # half a second with 1,000 of them) and the pause would count as server latency.
            gc.collect()
            gc.disable()
            try:
                results["rows"] += await RUNNERS[name](b, sizes, detail)
            except Exception as e:  # one broken scenario must not hide the others' figures
                print(f"  {name} failed: {e!r}", flush=True)
                results["failed"][name] = repr(e)
            finally:
                gc.enable()
            results["scenarios"][name] = detail
        ended = [r for r in b.metrics.records if r.end]
        results["metrics"] = [r.to_dict() for r in ended]
        results["metrics_summary"] = [
            {"scenario": r.scenario, "server": r.server, **metrics_dump.summary(r)} for r in ended
        ]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description="Parley benchmarks against an echo baseline.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the harness")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="folder for JSON")
    parser.add_argument("--label", default="", help="a note stored with the results")
    parser.add_argument(
        "--list-updates",
        choices=("delta", "full"),
        default="delta",
        help="what the consoles scenario's consoles ask for; full sends no option (old servers)",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="FOLDER", help="sample every Parley process with py-spy"
    )
    args = parser.parse_args()

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it
    sizes = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as folder:
        results = uvloop.run(run(args.only, sizes, Path(folder), args.profile, args.list_updates))
    results["label"] = args.label
    print(table(results["rows"]))
    print("\n/metrics: what moved in each Parley process between its start and its stop")
    print(metrics_table(results["metrics_summary"]))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = results["started_at"].replace(":", "").replace("+0000", "Z")
    path = args.out / f"{stamp}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {path}")
    if results["failed"]:
        print(f"failed: {', '.join(results['failed'])}")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
