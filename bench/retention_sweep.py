"""How long a retention sweep takes for many due conversations, on SQLite and on Redis.

``--conversations`` resolved conversations (an acceptance and two of the visitor's
messages each, in format 2, written with the store's own API as a server
writes them) ended a month ago; ``resolved=20d`` makes them all due. A dry run
lists them, then one sweep erases them all, in this process, with the server's
own code; the time of each, and per conversation, is printed.

    .venv/bin/python bench/retention_sweep.py [--conversations 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent / "tests"), str(BENCH.parent / "tests" / "store")]

from contract import say, start  # noqa: E402
from contract_ended import end  # noqa: E402

from harness import POLICIES, RedisServer  # noqa: E402
from parley.config import Retention, Settings  # noqa: E402
from parley.service import retention  # noqa: E402
from parley.web.app import start_core  # noqa: E402


async def run(name: str, settings: Settings, conversations: int) -> None:
    core = await start_core(settings)
    try:
        for n in range(conversations):
            cid = f"c_bench{n:05}"
            await start(core.store, f"v_bench{n:05}", cid)
            await say(core.store, cid, "my address is 12 rue de la Paix, Paris", "m1")
            await say(core.store, cid, "and my phone is 06 12 34 56 78", "m2")
            await end(core.store, cid, 10)
        kept = Retention(resolved=timedelta(days=20))
        began = time.perf_counter()
        listed = await retention.dry_run(core, kept)
        listing = time.perf_counter() - began
        began = time.perf_counter()
        swept = await retention.sweep(core, kept)
        sweeping = time.perf_counter() - began
        due, erased = len(listed.classes[0].due), len(swept.classes[0].erased)
        print(
            f"{name}: dry run {due} due in {listing:.2f} s; sweep erased {erased} in "
            f"{sweeping:.1f} s ({sweeping / max(erased, 1) * 1000:.1f} ms each)"
        )
    finally:
        await core.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        on_sqlite = Settings(data_dir=tmp / "sqlite", policies_dir=POLICIES)
        (tmp / "sqlite").mkdir()
        asyncio.run(run("SQLite", on_sqlite, args.conversations))
        redis = RedisServer(tmp / "redis").start()
        try:
            (tmp / "on-redis").mkdir()
            on_redis = Settings(
                data_dir=tmp / "on-redis", store_url=redis.url, policies_dir=POLICIES
            )
            asyncio.run(run("Redis", on_redis, args.conversations))
        finally:
            redis.stop()


if __name__ == "__main__":
    main()
