"""How many conversations were closed under each clause, kept as they close (Redis)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parley.domain.conversation import Conversation
from parley.store.base import ClauseCount, Filter
from parley.store.redis_db import CLOSED, CLOSURE_COUNTS, closure_field
from parley.store.redis_records import BATCH, RedisRecords

Key = tuple[str, int, str]
Tally = dict[Key, int]


def _key_of(closed: Conversation) -> Key:
    return closed.policy.policy_id, closed.policy.version, closed.closed_clause or ""


def _field(key: Key) -> str:
    return closure_field(*key)


def _key(field: str) -> Key:
    # Policy ids and clause ids hold no colon (policies/policy.schema.json).
    policy_id, version, clause_id = field.split(":")
    return policy_id, int(version), clause_id


def _kept(key: Key, f: Filter) -> bool:
    policy_id, version, clause_id = key
    return (
        (f.policy_id is None or policy_id == f.policy_id)
        and (f.version is None or version == f.version)
        and (f.clause_id is None or clause_id == f.clause_id)
    )


class ClosureCounts(RedisRecords):
    async def _backfill_closure_counts(self) -> None:
        """Count the conversations closed before the counts were kept."""

        async def build() -> Callable[[Any], None]:
            tally = await self._scanned_counts(Filter())

            def writes(p: Any) -> None:
                p.delete(CLOSURE_COUNTS)
                for key, n in tally.items():
                    p.hset(CLOSURE_COUNTS, _field(key), n)

            return writes

        await self.backfill("closure-counts", [CLOSED], build)

    async def _scanned_counts(self, where: Filter) -> Tally:
        counts: Tally = {}
        cursor: str | None = None
        while True:
            found, cursor = await self._scan(self._index(where, True), where, cursor, BATCH, True)
            for _, c in found:
                counts[_key_of(c)] = counts.get(_key_of(c), 0) + 1
            if cursor is None:
                return counts

    async def closure_counts(self, where: Filter) -> list[ClauseCount]:
        """Counts kept as conversations close (from their outbox records) answer any
        filter on policy, version and clause from one small hash. A visitor or time filter
        cannot be kept that way: it reads the narrowest index (the visitor's conversations,
        else every closed one) and counts the conversations that match.
        """
        await self.settle()
        if where.visitor_id is None and where.since is None and where.until is None:
            kept = await self.guard(self.r.hgetall(CLOSURE_COUNTS))
            counts = {_key(field): int(n) for field, n in kept.items()}
            counts = {key: n for key, n in counts.items() if _kept(key, where)}
        else:
            counts = await self._scanned_counts(where)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [ClauseCount(p, v, clause, n) for (p, v, clause), n in ordered]
