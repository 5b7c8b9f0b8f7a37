"""The store contract on the embedded SQLite backend."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract import T0, Reopen, StoreContract, say, start
from contract_bars import BarContract, BarErasureContract, check_legacy_bars_found, legacy_bars
from contract_canned import CannedContract
from contract_counts import CountContract
from contract_ended import EndedContract
from contract_erasure import ErasureContract
from contract_history import HistoryContract
from contract_holds import HoldContract
from contract_merkle import OldLeaves, assert_matches_reference, leaves
from contract_retention import BarRetentionContract, RetentionContract
from contract_webhooks import WebhookContract

from parley.domain.anchor import Leaf
from parley.domain.conversation import ConversationState
from parley.domain.transcript import format_time
from parley.errors import StoreUnavailable
from parley.store import open_store
from parley.store.bars import single_address, wide_network
from parley.store.base import EndedFilter, Filter, Store, dumps
from parley.store.sqlite import SQLiteStore
from parley.store.sqlite_db import MIGRATIONS


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:{tmp_path / 'parley.db'}")
    yield s
    await s.close()


@pytest.fixture
def reopen(tmp_path: Path) -> Reopen:
    async def again() -> Store:
        return await open_store(f"sqlite:{tmp_path / 'parley.db'}")

    return again


def insert_old_leaves(db: sqlite3.Connection, written: list[Leaf]) -> None:
    """Leaves as a version from before ``merkle_nodes`` appended them: the row alone."""
    with db:
        start = db.execute("SELECT count(*) FROM leaves").fetchone()[0]
        db.executemany(
            "INSERT INTO leaves VALUES (?, ?, ?, ?)",
            [
                (start + i, leaf.conversation_id, leaf.hash(), dumps(leaf.to_dict()))
                for i, leaf in enumerate(written)
            ],
        )


@pytest.fixture
def write_old_leaves(tmp_path: Path) -> OldLeaves:
    async def write(written: list[Leaf]) -> None:
        db = sqlite3.connect(tmp_path / "parley.db")
        try:
            insert_old_leaves(db, written)
        finally:
            db.close()

    return write


class TestSQLiteStore(
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


class TestSQLiteHolds(HoldContract):
    pass


class TestSQLiteRetention(RetentionContract, BarRetentionContract):
    pass


async def test_the_file_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    """Durable commits: WAL journal, and every commit fsynced (synchronous=FULL)."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    try:
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.db.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        await s.close()


async def test_a_database_error_is_reported_as_unavailable(tmp_path: Path) -> None:
    s = await SQLiteStore.open(tmp_path / "parley.db")
    outside = sqlite3.connect(tmp_path / "parley.db", timeout=0.1)
    outside.execute("BEGIN EXCLUSIVE")
    s.db.execute("PRAGMA busy_timeout=100")
    try:
        with pytest.raises(StoreUnavailable):
            await start(s, "v_locked", "c_locked0000")
    finally:
        outside.rollback()
        outside.close()
        await s.close()
    again = await SQLiteStore.open(tmp_path / "parley.db")
    try:
        assert await again.conversation("c_locked0000") is None, "nothing half-written"
    finally:
        await again.close()


async def test_urls_name_the_backend(tmp_path: Path) -> None:
    s = await open_store(f"sqlite://{tmp_path / 'x.db'}")
    await s.close()
    assert (tmp_path / "x.db").exists()
    with pytest.raises(ValueError, match="unsupported scheme"):
        await open_store("mongodb://localhost")


async def test_writes_that_arrive_together_share_one_commit(tmp_path: Path) -> None:
    """Group commit: writes queued while the thread is busy are committed in one transaction."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    try:
        await start(s, "v_group", "c_group00000")
        busy = asyncio.create_task(s.read(lambda: time.sleep(0.2)))  # holds the database thread
        await asyncio.sleep(0.05)
        before = s.commits
        said = await asyncio.gather(*(say(s, "c_group00000", f"m{i}", f"m{i}") for i in range(50)))
        await busy
        assert s.commits == before + 1, "fifty writes, one commit (one fsync)"
        assert sorted(a.event.seq for a in said if a.event) == list(range(2, 52))
        assert [e.seq for e in await s.events("c_group00000")] == list(range(1, 52))
    finally:
        await s.close()


async def test_a_failing_write_is_undone_alone_and_its_batch_still_commits(tmp_path: Path) -> None:
    """A write that fails mid-way leaves nothing behind; the writes beside it are committed."""
    s = await SQLiteStore.open(tmp_path / "parley.db")

    def half_then_fail(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO visitors VALUES ('v_half', 'h', '2026-01-01T00:00:00.000Z')")
        raise ValueError("fails after writing")

    try:
        await start(s, "v_batch", "c_batch00000")
        busy = asyncio.create_task(s.read(lambda: time.sleep(0.2)))
        await asyncio.sleep(0.05)
        before = s.commits
        first, failed, last = await asyncio.gather(
            say(s, "c_batch00000", "before", "a"),
            s.write(half_then_fail),
            say(s, "c_batch00000", "after", "b"),
            return_exceptions=True,
        )
        await busy
        assert s.commits == before + 1, "the three writes shared one transaction"
        assert isinstance(failed, ValueError)
        assert (
            s.db.execute("SELECT count(*) FROM visitors WHERE visitor_id = 'v_half'").fetchone()[0]
            == 0
        ), "the failed write's first statement was rolled back"
        assert not isinstance(first, BaseException) and not isinstance(last, BaseException)
        texts = [e.data["text"] for e in await s.events("c_batch00000", after_seq=1)]
        assert texts == ["before", "after"]
    finally:
        await s.close()


async def test_a_file_from_before_merkle_nodes_is_migrated_and_filled_from_its_leaves(
    tmp_path: Path,
) -> None:
    """The migration adds ``merkle_nodes``; opening fills it from the leaves already there."""
    before = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE merkle_nodes" in m)
    db = sqlite3.connect(tmp_path / "parley.db", isolation_level=None)
    for script in MIGRATIONS[:before]:
        db.executescript(script)
    db.execute(f"PRAGMA user_version = {before}")
    old = leaves(0, 300)
    insert_old_leaves(db, old)
    db.close()
    s = await SQLiteStore.open(tmp_path / "parley.db")
    try:
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        await assert_matches_reference(s, [leaf.hash() for leaf in old])
    finally:
        await s.close()


async def test_roots_and_proofs_read_single_rows_by_key_and_never_the_leaves(
    tmp_path: Path,
) -> None:
    """O(log n) reads: the log's size, then one node per statement, found by its key."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    single_rows = {
        "SEARCH leaves",  # max(idx): the last entry of the primary key
        "SEARCH merkle_nodes USING PRIMARY KEY (level=? AND idx=?)",
    }
    statements: list[str] = []
    try:
        for leaf in leaves(0, 200):
            await s.append_leaf(leaf)
        s.db.set_trace_callback(statements.append)
        await s.merkle_root(200)
        await s.inclusion_proof(77, 200)
        await s.consistency_proof(123, 200)
        s.db.set_trace_callback(None)
        assert 3 < len(statements) <= 3 * (1 + 2 * (200).bit_length())
        for sql in set(statements):
            [plan] = [row[3] for row in s.db.execute(f"EXPLAIN QUERY PLAN {sql}")]
            assert plan in single_rows, (sql, plan)
    finally:
        await s.close()


def plans_of(s: SQLiteStore, statements: list[str]) -> list[str]:
    """What SQLite does for each statement run (EXPLAIN QUERY PLAN details)."""
    return [row[3] for sql in statements for row in s.db.execute(f"EXPLAIN QUERY PLAN {sql}")]


async def test_a_bar_lookup_searches_indexes_and_reads_no_other_bar(tmp_path: Path) -> None:
    """No full scan of the bars on a visitor's hello: every query of a lookup uses an index."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    statements: list[str] = []
    try:
        s.db.set_trace_callback(statements.append)
        await s.bars_on("v_someone", "192.0.2.1", T0)
        s.db.set_trace_callback(None)
        plans = plans_of(s, statements)
        assert any("INDEX bans_by_visitor" in p for p in plans)
        assert any("INDEX bans_by_address" in p for p in plans)
        assert any("INDEX bans_on_networks" in p for p in plans)
        assert not [p for p in plans if p.startswith("SCAN bans")], plans
    finally:
        await s.close()


async def test_bars_placed_before_the_lookup_columns_are_found_after_upgrading(
    tmp_path: Path,
) -> None:
    """The migration that adds the lookup columns fills them in for the bars already there."""
    path = tmp_path / "parley.db"
    before = sqlite3.connect(path)
    for script in MIGRATIONS[:3]:
        before.executescript(script)
    before.execute("PRAGMA user_version = 3")
    for bar in legacy_bars():
        before.execute("INSERT INTO bans (id, body) VALUES (?, ?)", (bar.id, dumps(bar.to_dict())))
    before.commit()
    before.close()
    s = await SQLiteStore.open(path)
    try:
        await check_legacy_bars_found(s)
        columns = s.db.execute("SELECT id, visitor_id, address, network, lifted_at FROM bans")
        assert columns.fetchall() == [
            (b.id, b.visitor_id, single_address(b.network), wide_network(b.network), b.lifted_at)
            for b in legacy_bars()
        ], "filled in exactly as for a bar placed now"
    finally:
        await s.close()


async def test_a_visitors_history_is_one_query_through_indexes(tmp_path: Path) -> None:
    """One statement for every earlier conversation, reading no other visitor's."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    statements: list[str] = []
    try:
        s.db.set_trace_callback(statements.append)
        await s.earlier_conversations("v_someone", "c_current000", 20)
        s.db.set_trace_callback(None)
        assert len(statements) == 1
        plans = plans_of(s, statements)
        assert any("INDEX conversations_by_visitor" in p for p in plans)
        assert not [p for p in plans if p.startswith(("SCAN conversations", "SCAN e"))], plans
    finally:
        await s.close()


async def test_closure_counts_read_only_the_closed_conversations(tmp_path: Path) -> None:
    """Counts by policy, version and clause come from an index of closed conversations only."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    statements: list[str] = []
    try:
        s.db.set_trace_callback(statements.append)
        await s.closure_counts(Filter())
        await s.closure_counts(Filter(policy_id="conduct", version=2))
        s.db.set_trace_callback(None)
        plans = plans_of(s, statements)
        assert [p for p in plans if p.startswith(("SCAN c ", "SEARCH c "))] == [
            "SCAN c USING COVERING INDEX conversations_closed",
            "SEARCH c USING COVERING INDEX conversations_closed"
            " (policy_id=? AND version=? AND closed_clause>?)",
        ]
    finally:
        await s.close()


async def test_a_write_that_fails_leaves_the_writers_snapshot_as_committed(
    tmp_path: Path,
) -> None:
    """The writer's cached snapshot never runs ahead of what was committed."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    try:
        await start(s, "v_cache", "c_cache00000")
        s.db.execute(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON unanchored"
            " BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        s.db.execute("DELETE FROM unanchored")
        with pytest.raises(StoreUnavailable):
            await say(s, "c_cache00000", "lost", "m1")
        s.db.execute("DROP TRIGGER refuse")
        said = await say(s, "c_cache00000", "kept", "m2")
        assert said.event is not None and said.event.seq == 2, "no gap after the failed write"
        assert [e.seq for e in await s.events("c_cache00000")] == [1, 2]
    finally:
        await s.close()


async def test_the_ended_search_reads_its_indexes_and_scans_no_conversation(
    tmp_path: Path,
) -> None:
    """Every form of the agents' search of ended conversations is answered from an index."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    statements: list[str] = []
    try:
        await EndedContract().seed(s)
        s.db.set_trace_callback(statements.append)
        await s.ended_conversations(EndedFilter(since="2026-11-01T00:00:00.000Z"), "1", 5)
        await s.ended_conversations(EndedFilter(visitor_id="v_enda"), None, 5)
        await s.ended_conversations(EndedFilter(conversation_id="c_ended_a1"), None, 5)
        s.db.set_trace_callback(None)
        plans = plans_of(s, statements)
        assert any("INDEX conversations_ended " in p for p in plans), plans
        assert any("INDEX conversations_ended_by_visitor" in p for p in plans), plans
        assert not [p for p in plans if p.startswith("SCAN")], plans
    finally:
        await s.close()


async def test_conversations_ended_before_the_search_column_are_found_after_upgrading(
    tmp_path: Path,
) -> None:
    """The migration that adds ``ended_at`` fills it in from the snapshots already there."""
    path = tmp_path / "parley.db"
    before = next(i for i, m in enumerate(MIGRATIONS) if "ADD COLUMN ended_at" in m)
    s = await SQLiteStore.open(path)
    try:
        await EndedContract().seed(s)
        s.db.execute("UPDATE conversations SET ended_at = NULL")
        s.db.execute(f"PRAGMA user_version = {before}")
        for later in MIGRATIONS[before + 1 :]:  # a file from before: no later tables either
            for table in re.findall(r"CREATE TABLE (\w+)", later):
                s.db.execute(f"DROP TABLE {table}")
            for index in re.findall(r"CREATE INDEX (\w+)", later):
                s.db.execute(f"DROP INDEX IF EXISTS {index}")
            for table, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", later):
                s.db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        s.db.execute("DROP INDEX conversations_ended")
        s.db.execute("DROP INDEX conversations_ended_by_visitor")
        s.db.execute("ALTER TABLE conversations DROP COLUMN ended_at")
    finally:
        await s.close()
    again = await SQLiteStore.open(path)
    try:
        assert len((await again.ended_conversations(EndedFilter(), None, 10)).items) == 4
    finally:
        await again.close()


async def test_the_check_for_holds_reads_its_index_and_scans_no_hold(tmp_path: Path) -> None:
    """What retention and erasure ask before touching a conversation is answered from an index,
    and so is the listing of active holds."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    statements: list[str] = []
    try:
        s.db.set_trace_callback(statements.append)
        await s.holds_on("c_someone", "v_someone")
        await s.holds(True, "1", 10)
        s.db.set_trace_callback(None)
        plans = plans_of(s, statements)
        assert any("INDEX holds_in_force" in p for p in plans), plans
        assert any("INDEX holds_active" in p for p in plans), plans
        assert not [p for p in plans if p.startswith("SCAN")], plans
    finally:
        await s.close()


async def test_the_retention_selection_reads_through_indexes(tmp_path: Path) -> None:
    """Retention: what is due is one range of the index of ended conversations (or bars)
    not yet erased, the holds looked up by their index; no scan of conversations, holds or
    bars."""
    s = await SQLiteStore.open(tmp_path / "parley.db")
    statements: list[str] = []
    try:
        for cursor in (None, "1"):
            s.db.set_trace_callback(statements.append)
            await s.conversations_due(ConversationState.RESOLVED, format_time(T0), cursor, 10)
            await s.bars_due(format_time(T0), cursor, 10)
            s.db.set_trace_callback(None)
        plans = plans_of(s, [q for q in statements if "conversations c" in q])
        assert any("INDEX conversations_to_erase" in p for p in plans), plans
        assert any("INDEX holds_in_force" in p for p in plans), plans
        assert not [p for p in plans if p.startswith("SCAN")], plans
        plans = plans_of(s, [q for q in statements if "FROM bans" in q])
        assert any("INDEX bans_to_erase" in p for p in plans), plans
        assert not [p for p in plans if p.startswith("SCAN")], plans
    finally:
        await s.close()
