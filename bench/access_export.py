"""How long an access request's copy takes for a visitor with a long history.

One visitor has ``--conversations`` conversations of ``--messages`` messages
each (half the visitor's, half an agent's replies), each resolved, made through
the real server's sockets on SQLite and on Redis. The copy is then asked for
over HTTP, ``--rounds`` times in each format; the median and the slowest are
reported with the copy's size. Each copy is audited, as in production.

    .venv/bin/python bench/access_export.py [--conversations 50] [--messages 20]
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

from harness import RedisServer, Server, agent, visitor  # noqa: E402


async def history(server: Server, token: str, conversations: int, messages: int) -> str:
    async with visitor(server) as v, agent(server, token) as a:
        for c in range(conversations):
            cid = await v.accept()
            await a.send({"type": "claim", "conversation_id": cid})
            await a.expect("done")
            await a.send({"type": "join", "conversation_id": cid})
            await a.expect("caught_up")
            for m in range(messages // 2):
                await v.say(f"question {m} of conversation {c}: where is my parcel?", f"v{c}-{m}")
                await a.send(
                    {"type": "reply", "conversation_id": cid, "client_id": f"a{c}-{m}",
                     "text": f"answer {m}: it left our warehouse this morning."}
                )  # fmt: skip
                await a.expect("ack")
            await a.send({"type": "resolve", "conversation_id": cid})
            await a.expect("done")
        return v.visitor_id


def measure(server: Server, token: str, visitor_id: str, form: str, rounds: int) -> str:
    url = f"{server.http}/api/compliance/visitors/{visitor_id}/export"
    took, size = [], 0
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        for _ in range(rounds):
            start = time.perf_counter()
            answer = http.get(url, params={"format": form})
            took.append(time.perf_counter() - start)
            answer.raise_for_status()
            size = len(answer.content)
    return (
        f"{form:4}  median {statistics.median(took) * 1000:7.1f} ms  "
        f"slowest {max(took) * 1000:7.1f} ms  {size / 1024:7.0f} KiB"
    )


def run(name: str, server: Server, args: argparse.Namespace) -> None:
    server.start()
    try:
        agent_token = server.add_staff("Bench Agent", "agent")
        compliance = server.add_staff("Bench Compliance", "compliance")
        vid = asyncio.run(history(server, agent_token, args.conversations, args.messages))
        print(f"{name}: {args.conversations} conversations x {args.messages} messages")
        for form in ("json", "html"):
            print("  " + measure(server, compliance, vid, form, args.rounds))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
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
