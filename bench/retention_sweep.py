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
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))  # the tests' real parts: RedisServer

from harness import POLICIES, RedisServer  # noqa: E402
from parley import policy_files  # noqa: E402
from parley.config import Retention, Settings  # noqa: E402
from parley.domain import conversation as rules  # noqa: E402
from parley.domain.conversation import ClientContext  # noqa: E402
from parley.domain.transcript import Author, Role  # noqa: E402
from parley.service import retention  # noqa: E402
from parley.service.core import Core  # noqa: E402
from parley.web.app import start_core  # noqa: E402

#: When the seeded conversations happened: long enough ago for ``resolved=20d``.
AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
AGENT = Author(Role.AGENT, "s_bench", "Bench Agent")


async def said(core: Core, conversation_id: str, text: str, client_id: str) -> None:
    await core.store.apply(
        conversation_id,
        lambda c: rules.visitor_message(c, text, client_id, AT),
        dedupe=f"visitor:{client_id}",
    )


async def seed(core: Core, n: int) -> None:
    """One conversation as a server writes it: accepted, two messages, resolved."""
    offered = max(policy_files.load_folder(POLICIES), key=lambda v: v.version)
    cid = f"c_bench{n:05}"
    await core.store.start_conversation(
        f"v_bench{n:05}",
        lambda previous: rules.start(
            conversation_id=cid, visitor_id=f"v_bench{n:05}", previous=previous,
            offered=offered, answer=offered.ref,
            client=ClientContext("192.0.2.1", "bench"), at=AT,
        ),
    )  # fmt: skip
    for m, text in enumerate(("my address is 12 rue de la Paix", "my phone is 0612345678")):
        await said(core, cid, text, f"m{m}")
    await core.store.apply(cid, lambda c: rules.resolve(c, AGENT, None, AT + timedelta(minutes=5)))


async def run(name: str, settings: Settings, conversations: int) -> None:
    core = await start_core(settings)
    try:
        for n in range(conversations):
            await seed(core, n)
        await core.store.settle()
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
