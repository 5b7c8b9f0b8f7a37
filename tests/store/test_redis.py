"""The store contract on the Redis backend, against a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis
from contract import AGENT, T0, Reopen, StoreContract, start
from contract_bars import BarContract, BarErasureContract, check_legacy_bars_found, legacy_bars
from contract_canned import CannedContract
from contract_counts import COUNTED, CountContract, check_counts, close_some, listed
from contract_ended import EndedContract, minute
from contract_erasure import ErasureContract
from contract_history import HistoryContract
from contract_holds import HoldContract
from contract_merkle import OldLeaves, leaves
from contract_retention import BarRetentionContract, RetentionContract, bars_due, due
from contract_webhooks import WebhookContract

from harness import RedisServer
from parley.domain import conversation as rules
from parley.domain.anchor import Leaf
from parley.domain.audit import Actor, AuditAction
from parley.domain.chain import verify_links
from parley.domain.conversation import ConversationState, audited
from parley.errors import StoreUnavailable
from parley.store import open_store
from parley.store.base import ClauseCount, EndedFilter, Filter, Store, dumps
from parley.store.redis_db import (
    AUDIT,
    BANS,
    BANS_ENDING,
    CLOSURE_COUNTS,
    ENDED,
    INDEXES,
    LAYOUT,
    LEAVES,
    conv_key,
    leaf_thread,
    legacy_conv_key,
    retained_index,
    visitor_ended_index,
)


@contextlib.asynccontextmanager
async def opened(redis_server: RedisServer) -> AsyncIterator[Store]:
    """The store on ``redis_server``, opened as a server process would, closed after."""
    s = await open_store(redis_server.url)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[Store]:
    redis_server.flush()
    async with opened(redis_server) as s:
        yield s


@pytest.fixture
def reopen(redis_server: RedisServer) -> Reopen:
    async def again() -> Store:
        return await open_store(redis_server.url)

    return again


JOINED, REPLIED = AuditAction.AGENT_JOINED, AuditAction.REPLIED


@pytest.fixture
def write_old_leaves(redis_server: RedisServer) -> OldLeaves:
    """Leaves as a version from before Merkle nodes appended them: the leaf alone."""

    async def write(written: list[Leaf]) -> None:
        with redis.Redis(port=redis_server.port) as r:
            for leaf in written:
                record = dumps({"leaf": leaf.to_dict(), "hash": leaf.hash().hex()})
                index = r.rpush(LEAVES, record) - 1
                r.rpush(leaf_thread(leaf.conversation_id), index)

    return write


class TestRedisStore(
    StoreContract,
    BarContract,
    BarErasureContract,
    HistoryContract,
    CountContract,
    EndedContract,
    CannedContract,
    ErasureContract,
    WebhookContract,
):
    pass


class TestRedisHolds(HoldContract):
    pass


class TestRedisRetention(RetentionContract, BarRetentionContract):
    pass


async def test_roots_and_proofs_read_one_entry_per_node_in_one_round_trip(
    store: Store, redis_server: RedisServer
) -> None:
    """O(log n) reads: a few LINDEX in one pipeline, never a range of the log."""
    for leaf in leaves(0, 200):
        await store.append_leaf(leaf)
    with redis.Redis(port=redis_server.port, decode_responses=True) as r:
        r.config_resetstat()
        await store.inclusion_proof(77, 200)
        stats = r.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}
    assert set(calls) <= {"llen", "lindex", "config|resetstat", "info"}, calls
    assert 0 < calls["lindex"] <= 2 * (200).bit_length()


async def test_an_unreachable_redis_is_unavailable_and_writes_nothing(
    redis_server: RedisServer,
) -> None:
    """While Redis is down, writes raise StoreUnavailable (the caller does not ack)."""
    redis_server.flush()
    s = await open_store(redis_server.url)
    redis_server.stop()
    try:
        with pytest.raises(StoreUnavailable):
            await start(s, "v_down", "c_down000000")
    finally:
        redis_server.start()
    try:
        assert await s.conversation("c_down000000") is None
        await start(s, "v_down", "c_down000000")
        assert [e.seq for e in await s.events("c_down000000")] == [1]
    finally:
        await s.close()


async def _audited_replies(store: Store, conversation_id: str, n: int) -> None:
    staff = Actor("s_agent", "Alice", "agent")

    def join(c: rules.Conversation) -> rules.Transition:
        t = rules.agent_join(c, AGENT, T0)
        assert t is not None
        return audited(t, staff, JOINED)

    await store.apply(conversation_id, join)
    for i in range(n):
        await store.apply(
            conversation_id,
            lambda c, i=i: audited(
                rules.agent_reply(c, AGENT, f"reply {i}", f"r{i}", T0), staff, REPLIED
            ),
            dedupe=f"agent:s_agent:r{i}",
        )


async def test_outbox_records_outlive_the_process_that_committed_them(
    redis_server: RedisServer,
) -> None:
    """A crash after the commit script and before the appender loses no audit entry."""
    redis_server.flush()
    first = await open_store(redis_server.url)
    await start(first, "v_crash", "c_crash00000")
    await _audited_replies(first, "c_crash00000", 3)
    await first.close()  # never drained: the audit entries exist only as outbox records
    raw = redis.Redis.from_url(redis_server.url)
    assert raw.llen(AUDIT) == 0
    second = await open_store(redis_server.url)
    try:
        await second.settle()
        entries = (await second.audit(None, 50)).items
        assert [e.details["seq"] for e in entries] == [2, 3, 4, 5]
        assert verify_links(entries, "audit entry") is None
    finally:
        await second.close()


async def test_many_appenders_apply_each_outbox_record_exactly_once(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    stores = [await open_store(redis_server.url) for _ in range(4)]
    try:
        for i, s in enumerate(stores):
            await start(s, f"v_many{i}", f"c_many{i:06d}")
            await _audited_replies(s, f"c_many{i:06d}", 10)
        await asyncio.gather(*(s.settle() for s in stores for _ in range(3)))
        entries = (await stores[0].audit(None, 500)).items
        assert len(entries) == 4 * 11, "one entry per audited action, none twice"
        assert verify_links(entries, "audit entry") is None
        for i in range(4):
            thread = [e.details["seq"] for e in entries if e.conversation_id == f"c_many{i:06d}"]
            assert thread == list(range(2, 13)), "each conversation's entries in commit order"
    finally:
        for s in stores:
            await s.close()


async def test_conversations_stored_in_the_first_key_layout_are_moved_to_their_shard(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    s = await open_store(redis_server.url)
    await start(s, "v_old", "c_oldlayout0")
    await s.close()
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    for part in ("conv", "events"):
        raw.rename(conv_key("c_oldlayout0", part), legacy_conv_key("c_oldlayout0", part))
    raw.delete(LAYOUT)
    again = await open_store(redis_server.url)
    try:
        found = await again.conversation("c_oldlayout0")
        assert found is not None and found.last_seq == 1
        assert [e.seq for e in await again.events("c_oldlayout0")] == [1]
        assert raw.get(LAYOUT) == "2" and not raw.exists(legacy_conv_key("c_oldlayout0", "conv"))
    finally:
        await again.close()


async def test_bars_placed_before_the_lookup_keys_are_found_after_upgrading(
    redis_server: RedisServer,
) -> None:
    """Opening the store builds the lookup keys for bars that have none, once."""
    redis_server.flush()
    with redis.Redis(port=redis_server.port) as r:
        for bar in legacy_bars():
            r.hset(BANS, bar.id, dumps(bar.to_dict()))
    async with opened(redis_server) as s:
        await check_legacy_bars_found(s)


async def test_closure_counts_are_built_on_open_for_closures_from_before_them(
    redis_server: RedisServer,
) -> None:
    """Counts not marked as built (data from a release that kept none) are counted afresh."""
    redis_server.flush()
    async with opened(redis_server) as s:
        await close_some(s)
    with redis.Redis(port=redis_server.port) as r:
        r.delete(CLOSURE_COUNTS)
        r.hset(CLOSURE_COUNTS, "conduct:9:9.9", 99)  # a leftover the recount must drop
        r.srem(INDEXES, "closure-counts")
    async with opened(redis_server) as s:
        assert await s.closure_counts(Filter()) == COUNTED
        await check_counts(s)


async def test_policy_filters_read_the_kept_counts_and_opening_does_not_recount(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    async with opened(redis_server) as s:
        await close_some(s)
    with redis.Redis(port=redis_server.port) as r:
        r.hincrby(CLOSURE_COUNTS, "conduct:1:1.1", 10)  # a mark only the kept counts carry
    async with opened(redis_server) as s:
        assert (await s.closure_counts(Filter()))[0] == ClauseCount("conduct", 1, "1.1", 12)
        by_version = await s.closure_counts(Filter(policy_id="conduct", version=1))
        assert by_version[0] == ClauseCount("conduct", 1, "1.1", 12)
        visitor = Filter(visitor_id="v_count0")
        assert await s.closure_counts(visitor) == await listed(s, visitor), (
            "a visitor filter counts the closures themselves"
        )


async def test_the_background_appender_seals_audit_entries_without_being_asked(
    redis_server: RedisServer,
) -> None:
    """Two serving processes: one holds the lease and drains; every entry is sealed once."""
    redis_server.flush()
    stores = [await open_store(redis_server.url) for _ in range(2)]
    appenders = [asyncio.create_task(s.maintain()) for s in stores]
    raw = redis.Redis.from_url(redis_server.url)
    try:
        await start(stores[0], "v_bg", "c_bg00000000")
        await _audited_replies(stores[1], "c_bg00000000", 5)
        for _ in range(250):
            if raw.llen(AUDIT) >= 6:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # time for a second appender to (wrongly) seal them again
        assert raw.llen(AUDIT) == 6, "each of the six actions audited exactly once, unasked"
    finally:
        raw.close()
        for task in appenders:
            task.cancel()
        await asyncio.gather(*appenders, return_exceptions=True)
        for s in stores:
            await s.close()


async def test_the_ended_index_is_built_on_open_for_conversations_that_ended_before_it(
    redis_server: RedisServer,
) -> None:
    """An index not marked as built (data from a release that kept none) is built afresh,
    and from then on the ending commits keep it."""
    redis_server.flush()
    async with opened(redis_server) as s:
        await EndedContract().seed(s)
    with redis.Redis(port=redis_server.port, decode_responses=True) as r:
        assert r.zcard(ENDED) == 4, "the ending commits keep the index"
        r.delete(ENDED, visitor_ended_index("v_enda"), visitor_ended_index("v_endb"))
        r.srem(INDEXES, "ended")
    async with opened(redis_server) as s:
        assert len((await s.ended_conversations(EndedFilter(), None, 10)).items) == 4
        mine = await s.ended_conversations(EndedFilter(visitor_id="v_enda"), None, 10)
        assert [c.id for c in mine.items] == ["c_ended_a3", "c_ended_a2", "c_ended_a1"]


async def test_the_retained_index_is_built_on_open_for_conversations_that_ended_before_it(
    redis_server: RedisServer,
) -> None:
    """Retention: conversations that ended under a release without the index of those not
    yet erased are found due once the store opens (the index is built then)."""
    redis_server.flush()
    async with opened(redis_server) as s:
        await RetentionContract().seed(s)
    with redis.Redis(port=redis_server.port, decode_responses=True) as r:
        assert r.zcard(retained_index("resolved")) == 4, "the ending commits keep the index"
        r.delete(*(retained_index(state) for state in ("resolved", "closed", "abandoned")))
        r.srem(INDEXES, "retained")
    async with opened(redis_server) as s:
        assert await due(s, ConversationState.RESOLVED, minute(41)) == [
            "c_r1", "c_r2", "c_r3", "c_r4",
        ]  # fmt: skip
        assert await due(s, ConversationState.ABANDONED, minute(41)) == ["c_a1"]


async def test_the_index_of_ending_bars_is_built_on_open_for_bars_placed_before_it(
    redis_server: RedisServer,
) -> None:
    """Retention: bars placed under a release without the index are found due once the
    store opens (the index is built then)."""
    redis_server.flush()
    async with opened(redis_server) as s:
        await BarRetentionContract().seed_bars(s)
    with redis.Redis(port=redis_server.port, decode_responses=True) as r:
        assert r.zcard(BANS_ENDING) == 4, "placing and lifting keep the index"
        r.delete(BANS_ENDING)
        r.srem(INDEXES, "bans-ending")
    async with opened(redis_server) as s:
        assert await bars_due(s, T0 + timedelta(days=9)) == ["b_2", "b_5", "b_1", "b_4"]
