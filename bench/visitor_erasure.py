"""How long an erasure on request takes for a visitor with a long history.

For each of ``--rounds`` rounds, a new visitor gets ``--conversations`` conversations
of ``--messages`` messages each (half theirs, half an agent's replies; each resolved)
through the real server's sockets, on SQLite and on Redis; then
``POST /api/admin/visitors/{id}/erase`` erases them (every field rewritten, one
erasure record and audit entry per conversation, the store's copies purged, the
certificate signed), and is asked again (nothing left to erase). Medians and the
slowest are reported.

    .venv/bin/python bench/visitor_erasure.py [--conversations 20] [--messages 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))  # the tests' real parts: Server, RedisServer
sys.path.insert(0, str(BENCH))

from access_export import history  # noqa: E402
from harness import RedisServer, Server  # noqa: E402


def erase(server: Server, token: str, visitor_id: str) -> float:
    url = f"{server.http}/api/admin/visitors/{visitor_id}/erase"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=300) as http:
        start = time.perf_counter()
        answer = http.post(url, json={"basis": "bench: GDPR Art. 17"})
        took = time.perf_counter() - start
    answer.raise_for_status()
    return took


def shown(name: str, took: list[float]) -> str:
    return (
        f"{name:14} median {statistics.median(took) * 1000:7.0f} ms  "
        f"slowest {max(took) * 1000:7.0f} ms"
    )


def run(name: str, server: Server, args: argparse.Namespace) -> None:
    server.start()
    try:
        agent_token = server.add_staff("Bench Agent", "agent")
        admin = server.add_staff("Bench Admin", "admin")
        first, again = [], []
        for _ in range(args.rounds):
            vid = asyncio.run(history(server, agent_token, args.conversations, args.messages))
            first.append(erase(server, admin, vid))
            again.append(erase(server, admin, vid))
        print(f"{name}: {args.conversations} conversations x {args.messages} messages")
        print("  " + shown("erase", first))
        print("  " + shown("erase again", again))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        run("SQLite", Server(tmp / "sqlite"), args)
        redis = RedisServer(tmp / "redis").start()
        try:
            run("Redis", Server(tmp / "on-redis", PARLEY_STORE=redis.url), args)
        finally:
            redis.stop()


if __name__ == "__main__":
    main()
