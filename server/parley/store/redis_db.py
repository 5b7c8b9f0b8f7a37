"""The Redis connection, key names, and optimistic transactions.

Key layout (``docs/deployment.md`` explains it for operators):

* conversations are spread over :data:`SHARDS` shards by a hash of their id;
  a conversation's keys — its snapshot, its events (a list, index = seq - 1),
  its dedupe hash — and its shard's outbox stream share the hash tag
  ``{s<shard>}``, so an action on a conversation touches one hash slot
  (ready for Redis Cluster: one slot per script);
* every cross-conversation key (policies, visitors, staff, indexes, the audit
  trail, the Merkle log) shares the hash tag ``{g}``; these are fed from the
  outbox (:mod:`parley.store.redis_outbox`), not written by the action.

An action on a conversation is one script (:mod:`parley.store.redis_outbox`).
Other logical writes are one ``MULTI/EXEC`` under ``WATCH`` of what they read;
if another process wrote first, the transaction is retried with fresh state,
so ``decide`` (pure) may run more than once. Retries back off with jitter, so
writers racing for one key (the audit chain's head) take turns instead of
colliding again. Connection failures become
:class:`~parley.errors.StoreUnavailable`: nothing was acknowledged.
"""

from __future__ import annotations

import asyncio
import random
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, RedisError, TimeoutError, WatchError

from parley.errors import StoreUnavailable

T = TypeVar("T")

#: How often a transaction is retried when other writers keep winning the race,
#: and the longest pause (seconds) between two attempts.
MAX_ATTEMPTS = 50
MAX_BACKOFF = 0.05

#: After a Redis restart, pooled connections are dead: check idle ones before use and
#: retry a command on a fresh connection, so the first request after a restart works.
#: (A transaction interrupted this way fails its WATCH and is re-run on fresh state.)
#: Under load, a request waits up to ``timeout`` seconds for one of ``max_connections``
#: rather than failing at once: a plain pool refuses the request that would open one too
#: many, which inside a transaction looks like a lost race and is retried until it gives up.
CONNECTION_OPTIONS: dict[str, Any] = {
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
    "health_check_interval": 2,
    "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
    "retry_on_error": [ConnectionError, TimeoutError],
    "max_connections": 64,
    "timeout": 5,
}


def client(url: str) -> Any:
    """A Redis client for ``url`` on a blocking pool with :data:`CONNECTION_OPTIONS`.

    Typed loosely: with ``decode_responses=True`` every reply is ``str``, which
    redis-py's annotations cannot express.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url, decode_responses=True, **CONNECTION_OPTIONS
    )
    return aioredis.Redis.from_pool(pool)


#: Pub/sub channels of the bus (``parley.bus.redis``): ``BUS_PREFIX + topic``.
BUS_PREFIX = "parley:bus:"

G = "parley:{g}"
POLICIES = f"{G}:policies"
VISITOR_TOKENS = f"{G}:visitor-tokens"
#: When each visitor was first issued a token, by visitor id.
VISITORS = f"{G}:visitors"
CONVERSATION_N = f"{G}:conversation-n"
ALL = f"{G}:conversations"
OPEN = f"{G}:open"
CLOSED = f"{G}:closed"
#: Ended conversations as ``"<ended_at> <id>"`` members, all of score 0: read by lex range.
ENDED = f"{G}:ended"
STAFF = f"{G}:staff"
STAFF_TOKENS = f"{G}:staff-tokens"
AUDIT = f"{G}:audit"
LEAVES = f"{G}:leaves"
CHECKPOINTS = f"{G}:checkpoints"
TIMESTAMPS = f"{G}:checkpoints:timestamps"
BANS = f"{G}:bans"
BAN_NETWORKS = f"{G}:bans:networks"
BAN_CHANGES = f"{G}:bans:changes"
#: Bars that stopped (or will stop) being in force and are not erased, as ``"<ended_at> <id>"``
#: members of score 0 (:attr:`~parley.domain.bans.Ban.ended_at`): what retention reads.
BANS_ENDING = f"{G}:bans:ending"
#: Closures for violation so far, by ``policy_id:version:clause_id``.
CLOSURE_COUNTS = f"{G}:closure-counts"
#: Canned replies by id, and their ids by shortcut (store/redis_canned.py).
CANNED = f"{G}:canned"
CANNED_SHORTCUTS = f"{G}:canned:shortcuts"
#: Legal holds by id (store/redis_holds.py); every hold's id scored by its number in the
#: order placed, the active ones' likewise, and the counter that numbers them.
HOLDS = f"{G}:holds"
HOLDS_ALL = f"{G}:holds:all"
HOLDS_ACTIVE = f"{G}:holds:active"
HOLDS_N = f"{G}:holds:n"
#: Names of the derived indexes already built from the records (see RedisDatabase.backfill).
INDEXES = f"{G}:indexes"


#: Key layout version, in ``LAYOUT``: 2 is the sharded layout (:func:`conv_key`).
LAYOUT = f"{G}:layout"
#: How many shards conversations are spread over: each has its own slot and outbox.
SHARDS = 16


def shard(conversation_id: str) -> int:
    return zlib.crc32(conversation_id.encode()) % SHARDS


def conv_key(conversation_id: str, part: str) -> str:
    return f"parley:{{s{shard(conversation_id)}}}:c:{conversation_id}:{part}"


def outbox_key(shard_number: int) -> str:
    """The stream of committed actions' records for one shard, in commit order."""
    return f"parley:{{s{shard_number}}}:outbox"


def closure_field(policy_id: str, version: int, clause_id: str) -> str:
    """The field of ``CLOSURE_COUNTS`` that counts closures under one clause of one version."""
    return f"{policy_id}:{version}:{clause_id}"


def legacy_conv_key(conversation_id: str, part: str) -> str:
    """Where layout 1 kept a conversation's keys (one hash tag per conversation)."""
    return f"parley:{{c:{conversation_id}}}:{part}"


def visitor_index(visitor_id: str) -> str:
    return f"{G}:visitor:{visitor_id}"


def ended_member(ended_at: str, conversation_id: str) -> str:
    """A conversation's member in :data:`ENDED`: stored times compare as strings, in time order."""
    return f"{ended_at} {conversation_id}"


def visitor_ended_index(visitor_id: str) -> str:
    """The visitor's ended conversations, as in :data:`ENDED`."""
    return f"{G}:ended-by-visitor:{visitor_id}"


def retained_index(state: str) -> str:
    """Ended conversations of ``state`` that retention has not erased, as in :data:`ENDED`."""
    return f"{G}:retained:{state}"


#: Leases by name (``SET PX``), e.g. the retention sweep's.
def lease_key(name: str) -> str:
    return f"{G}:lease:{name}"


def policy_index(policy_id: str, version: int) -> str:
    return f"{G}:policy:{policy_id}:{version}"


def ban_index(by: str, value: str) -> str:
    """Bars in force by ``visitor`` id or exact ``address``: a hash of bar id -> bar."""
    return f"{G}:bans:{by}:{value}"


def hold_index(scope: str, target: str) -> str:
    """Active holds on one conversation or one visitor (``scope``): a hash of hold id -> hold."""
    return f"{G}:holds:{scope}:{target}"


def audit_thread(conversation_id: str) -> str:
    return f"{G}:audit:{conversation_id}"


def leaf_thread(conversation_id: str) -> str:
    return f"{G}:leaves:{conversation_id}"


def cosignatures_key(tree_size: int) -> str:
    """The set of witnesses' cosignature lines on the checkpoint of ``tree_size``."""
    return f"{G}:checkpoints:cosignatures:{tree_size}"


def merkle_level(level: int) -> str:
    """The list of the Merkle log's perfect subtrees of ``2**level`` leaves, in order."""
    return f"{G}:merkle:{level}"


class RedisDatabase:
    def __init__(self, url: str) -> None:
        self.url = url
        self.r = client(url)
        # Appends to a global list (the audit chain, the Merkle log) take turns inside a
        # process, so only writers in other processes can make one of them retry.
        self.chain_lock = asyncio.Lock()

    async def close(self) -> None:
        await self.r.aclose()

    async def guard(self, work: Awaitable[T]) -> T:
        """Run ``work``; a Redis failure becomes StoreUnavailable."""
        try:
            return await work
        except (RedisError, OSError) as e:
            raise StoreUnavailable(f"the Redis store could not complete the request: {e}") from e

    async def transaction(self, watch: list[str], body: Callable[[Any], Awaitable[Any]]) -> Any:
        """Optimistic transaction: ``body(pipe)`` reads after ``WATCH`` of ``watch``, then
        returns a :class:`Commit` (writes to run in ``MULTI/EXEC``, and the result) or any
        other value, which is returned with nothing written. Retried if a watched key moved.
        """

        async def attempt() -> Any:
            for tries in range(MAX_ATTEMPTS):
                async with self.r.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(*watch)
                        outcome = await body(pipe)
                        if not isinstance(outcome, Commit):
                            return outcome
                        pipe.multi()
                        outcome.writes(pipe)
                        await pipe.execute()
                        return outcome.result
                    except WatchError:
                        pass
                await asyncio.sleep(random.uniform(0, min(MAX_BACKOFF, 0.001 * 2**tries)))
            raise StoreUnavailable("the Redis store is too busy: a write kept losing races")

        return await self.guard(attempt())

    async def backfill(
        self, index: str, watch: list[str], build: Callable[[], Awaitable[Callable[[Any], None]]]
    ) -> None:
        """Build the derived ``index`` from the records once, unless some process already did.

        ``build`` reads the records (after ``watch`` is watched: a write to them
        meanwhile makes it run again) and returns the writes that fill the index;
        they commit together with the mark that the index exists. From then on,
        the writes that change the records keep the index current.
        """

        async def body(pipe: Any) -> Any:
            if await pipe.sismember(INDEXES, index):
                return None
            writes = await build()

            def fill(p: Any) -> None:
                writes(p)
                p.sadd(INDEXES, index)

            return Commit(fill, None)

        await self.transaction([INDEXES, *watch], body)


class Commit:
    """What a transaction body returns to commit: queued writes, and the result after EXEC."""

    def __init__(self, writes: Callable[[Any], None], result: Any) -> None:
        self.writes = writes
        self.result = result


async def migrate_layout(r: Any) -> None:
    """Move layout-1 conversation keys to their shard (once; run before serving).

    Every process of a deployment must run this version before any serves: the
    rename is idempotent, but an older process would keep writing the old keys.
    """
    if await r.get(LAYOUT) == "2":
        return
    for cid in await r.zrange(ALL, 0, -1):
        for part in ("conv", "events", "dedupe"):
            old = legacy_conv_key(cid, part)
            if await r.exists(old):
                await r.rename(old, conv_key(cid, part))
    await r.set(LAYOUT, "2")
