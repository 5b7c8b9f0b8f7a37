"""The Merkle log part of the store contract, run against every backend.

Each backend's test module provides, besides ``store`` and ``reopen``, a
``write_old_leaves`` fixture: it appends leaves to the store's data the way a
version from before Merkle nodes did — the leaf alone, no node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from parley.domain import merkle
from parley.domain.anchor import ORIGIN, Checkpoint, Leaf, SignedCheckpoint
from parley.store.base import Store

Reopen = Callable[[], Awaitable[Store]]
OldLeaves = Callable[[list[Leaf]], Awaitable[None]]


def leaves(start: int, count: int) -> list[Leaf]:
    return [
        Leaf(f"c_leaf{i % 7}", i, f"{i:064x}", None, "2026-11-01T12:00:00.000Z")
        for i in range(start, start + count)
    ]


async def assert_matches_reference(store: Store, hashes: list[bytes]) -> None:
    """Every root, and a spread of proofs, read from the store equal the full-list reference."""
    n = len(hashes)
    assert await store.tree_size() == n
    for size in range(n + 1):
        assert await store.merkle_root(size) == merkle.root(hashes[:size]), size
    for size in {1, 2, 3, n // 2, n - 1, n} - {0}:
        for index in {0, size // 3, size // 2, size - 1}:
            got = await store.inclusion_proof(index, size)
            assert got == merkle.inclusion_proof(index, hashes[:size]), (index, size)
        for old in {0, 1, size // 3, size - 1, size}:
            got = await store.consistency_proof(old, size)
            assert got == merkle.consistency_proof(old, hashes[:size]), (old, size)


class MerkleContract:
    async def test_the_merkle_log_appends_leaves_and_keeps_checkpoints(self, store: Store) -> None:
        written = leaves(0, 5)
        assert [await store.append_leaf(leaf) for leaf in written] == [0, 1, 2, 3, 4]
        assert await store.leaves_of("c_leaf1") == [(1, written[1])]
        assert await store.latest_checkpoint() is None
        small = Checkpoint(ORIGIN, 3, "aa" * 32, "2026-11-01T12:00:00.000Z", "k")
        large = Checkpoint(ORIGIN, 5, "bb" * 32, "2026-11-01T12:00:01.000Z", "k")
        await store.save_checkpoint(large, "sig-large")
        await store.save_checkpoint(small, "sig-small")
        assert await store.latest_checkpoint() == (large, "sig-large")

    async def test_a_checkpoint_keeps_its_note_cosignatures_and_timestamp(
        self, store: Store, reopen: Reopen
    ) -> None:
        first = Checkpoint(ORIGIN, 3, "aa" * 32, "2026-11-01T12:00:00.000Z", "k")
        second = Checkpoint(ORIGIN, 5, "bb" * 32, "2026-11-01T12:00:01.000Z", "k")
        await store.save_checkpoint(first, "sig-3", "note of 3\n")
        await store.save_checkpoint(second, "sig-5", "note of 5\n")
        await store.save_checkpoint(second, "sig-5-again", "another note\n")
        assert await store.signed_checkpoint(4) is None
        assert await store.signed_checkpoint() == SignedCheckpoint(second, "sig-5", "note of 5\n")
        # Two witnesses answer, one of them twice (two processes submitted the same checkpoint).
        await store.add_cosignatures(3, ["— w2 BBBB\n", "— w1 AAAA\n"])
        await store.add_cosignatures(3, ["— w1 AAAA\n"])
        await store.save_timestamp(3, "first-token")
        await store.save_timestamp(3, "second-token")
        await store.close()
        again = await reopen()
        try:
            assert await again.signed_checkpoint(3) == SignedCheckpoint(
                first, "sig-3", "note of 3\n", ("— w1 AAAA\n", "— w2 BBBB\n"), "first-token"
            )
            assert (await again.signed_checkpoint(5)).cosignatures == ()  # type: ignore[union-attr]
        finally:
            await again.close()

    async def test_roots_and_proofs_equal_the_reference_after_many_appends_and_reopening(
        self, store: Store, reopen: Reopen
    ) -> None:
        written = leaves(0, 70)
        for leaf in written:
            await store.append_leaf(leaf)
        hashes = [leaf.hash() for leaf in written]
        await assert_matches_reference(store, hashes)
        await store.close()
        again = await reopen()
        try:
            await assert_matches_reference(again, hashes)
            more = leaves(70, 30)
            assert [await again.append_leaf(leaf) for leaf in more] == list(range(70, 100))
            await assert_matches_reference(again, hashes + [leaf.hash() for leaf in more])
        finally:
            await again.close()

    async def test_leaves_appended_together_each_get_their_own_index_and_nodes(
        self, store: Store
    ) -> None:
        written = leaves(0, 40)
        indexes = await asyncio.gather(*(store.append_leaf(leaf) for leaf in written))
        assert sorted(indexes) == list(range(40))
        by_index = sorted(zip(indexes, written, strict=True), key=lambda p: p[0])
        await assert_matches_reference(store, [leaf.hash() for _, leaf in by_index])

    async def test_a_log_from_before_merkle_nodes_gets_them_when_opened(
        self, store: Store, reopen: Reopen, write_old_leaves: OldLeaves
    ) -> None:
        """Leaves written with no nodes: opening the store computes them from the leaves."""
        await store.close()
        old = leaves(0, 37)
        await write_old_leaves(old)
        again = await reopen()
        try:
            await assert_matches_reference(again, [leaf.hash() for leaf in old])
            assert await again.append_leaf(leaves(37, 1)[0]) == 37
            await assert_matches_reference(again, [leaf.hash() for leaf in leaves(0, 38)])
        finally:
            await again.close()

    async def test_leaves_an_older_version_appended_get_nodes_with_the_next_append(
        self, store: Store, write_old_leaves: OldLeaves
    ) -> None:
        """During an upgrade an older process may append beside this one: nothing is lost."""
        for leaf in leaves(0, 11):
            await store.append_leaf(leaf)
        await write_old_leaves(leaves(11, 6))
        assert await store.append_leaf(leaves(17, 1)[0]) == 17
        await assert_matches_reference(store, [leaf.hash() for leaf in leaves(0, 18)])

    async def test_roots_and_proofs_beyond_the_log_are_refused(self, store: Store) -> None:
        for leaf in leaves(0, 5):
            await store.append_leaf(leaf)
        assert await store.merkle_root(0) == merkle.EMPTY_ROOT
        # Some of these need no node past the fifth leaf: the log's size refuses them.
        beyond: list[Callable[[], Awaitable[object]]] = [
            lambda: store.merkle_root(6),
            lambda: store.inclusion_proof(5, 6),
            lambda: store.inclusion_proof(0, 8),
            lambda: store.consistency_proof(3, 9),
            lambda: store.consistency_proof(0, 6),
            lambda: store.consistency_proof(6, 6),
        ]
        for read in beyond:
            with pytest.raises(ValueError, match="holds only 5 leaves"):
                await read()
        with pytest.raises(ValueError, match="outside"):
            await store.inclusion_proof(5, 5)
        with pytest.raises(ValueError, match="outside"):
            await store.consistency_proof(6, 5)
        with pytest.raises(ValueError, match="negative"):
            await store.merkle_root(-1)
