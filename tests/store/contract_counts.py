"""Closure statistics on every backend: the counts equal the closures listed one by one.

A backend's test module mixes :class:`CountContract` into its store contract class.
"""

from __future__ import annotations

from datetime import timedelta

from contract import AGENT, CLIENT, T0, Reopen, versions

from parley.domain import conversation as rules
from parley.domain import moderation
from parley.store.base import ClauseCount, Filter, Store

#: What :func:`close_some` leaves, most frequent first.
COUNTED = [
    ClauseCount("conduct", 1, "1.1", 2),
    ClauseCount("conduct", 2, "1.2", 2),
    ClauseCount("conduct", 1, "1.2", 1),
    ClauseCount("conduct", 2, "1.1", 1),
]

FILTERS = [
    Filter(),
    Filter(policy_id="conduct"),
    Filter(policy_id="conduct", version=1),
    Filter(version=2),
    Filter(clause_id="1.2"),
    Filter(policy_id="conduct", version=2, clause_id="1.1"),
    Filter(policy_id="nothing"),
    Filter(visitor_id="v_count0"),
    Filter(since="2026-11-03T00:00:00.000Z"),
    Filter(policy_id="conduct", version=1, until="2026-11-03T00:00:00.000Z"),
]


async def close_some(store: Store, first: int = 0) -> None:
    """Conversations on both versions: six closed for violation, one resolved, one open."""
    v1, v2 = versions()
    plan = [(v1, "1.1"), (v2, "1.2"), (v1, "1.2"), (v2, "1.1"), (v1, "1.1"), (v2, "1.2")]
    plan += [(v1, "resolve"), (v2, "open")]
    for i, (accepted, outcome) in enumerate(plan, start=first):
        cid, at = f"c_count{i:06d}", T0 + timedelta(days=i)
        visitor = f"v_count{i % 3}" if outcome != "open" else f"v_waiting{i}"
        await store.start_conversation(
            visitor,
            lambda previous, cid=cid, visitor=visitor, accepted=accepted, at=at: rules.start(
                conversation_id=cid, visitor_id=visitor, previous=previous, offered=accepted,
                answer=accepted.ref, client=CLIENT, at=at,
            ),
        )  # fmt: skip
        if outcome == "resolve":
            await store.apply(cid, lambda c: rules.resolve(c, AGENT, None, T0))
        elif outcome != "open":
            await store.apply(
                cid,
                lambda c, accepted=accepted, clause=outcome, at=at: moderation.close_for_violation(
                    c, accepted, AGENT, clause, None, at
                ),
            )


async def listed(store: Store, where: Filter) -> list[ClauseCount]:
    """The counts by reading every closure the listing returns, a page at a time."""
    tally: dict[tuple[str, int, str], int] = {}
    cursor = None
    while True:
        page = await store.closures(where, cursor, 2)
        for event in page.items:
            conversation = await store.conversation(event.conversation_id)
            assert conversation is not None
            policy = conversation.policy
            key = (policy.policy_id, policy.version, event.data["clause"]["id"])
            tally[key] = tally.get(key, 0) + 1
        if (cursor := page.next_cursor) is None:
            break
    ordered = sorted(tally.items(), key=lambda kv: (-kv[1], kv[0]))
    return [ClauseCount(p, v, clause, n) for (p, v, clause), n in ordered]


async def check_counts(store: Store) -> None:
    """Under every filter, the counts equal the closures listed."""
    for where in FILTERS:
        assert await store.closure_counts(where) == await listed(store, where), where


class CountContract:
    async def test_closure_counts_equal_the_closures_listed_under_every_filter(
        self, store: Store
    ) -> None:
        await close_some(store)
        assert await store.closure_counts(Filter()) == COUNTED
        await check_counts(store)

    async def test_closure_counts_survive_reopening_and_keep_counting(
        self, store: Store, reopen: Reopen
    ) -> None:
        await close_some(store)
        await store.close()
        again = await reopen()
        try:
            assert await again.closure_counts(Filter()) == COUNTED
            await close_some(again, first=100)
            assert await again.closure_counts(Filter()) == [
                ClauseCount(c.policy_id, c.version, c.clause_id, 2 * c.count) for c in COUNTED
            ]
            await check_counts(again)
        finally:
            await again.close()
