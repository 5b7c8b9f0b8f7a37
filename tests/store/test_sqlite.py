"""The store contract on the embedded SQLite backend."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contract import Reopen, StoreContract, start

from parley.errors import StoreUnavailable
from parley.store import open_store
from parley.store.base import Store
from parley.store.sqlite import SQLiteStore


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


class TestSQLiteStore(StoreContract):
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
