"""The incremental Merkle log: the same roots and proofs as the reference, from O(log n) nodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_merkle import CT_LEAVES, CT_ROOTS

from parley.domain import merkle
from parley.domain.merkle_nodes import (
    CompactRange,
    NodeId,
    consistency_plan,
    covering,
    inclusion_plan,
    root_plan,
)

MAX = 300
LEAVES = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(MAX)]
_, MADE = CompactRange(0).extend(LEAVES)
NODES = {(n.level, n.idx): n.hash for n in MADE}


def stored_at(size: int) -> dict[NodeId, bytes]:
    """Only the nodes a log of ``size`` leaves holds: those whose last leaf is in."""
    return {(level, i): h for (level, i), h in NODES.items() if (i + 1) << level <= size}


def frontier(size: int) -> CompactRange:
    grown, _ = CompactRange(0).extend(LEAVES[:size])
    return grown


# --- the compact range -----------------------------------------------------------------


@pytest.mark.parametrize("size", sorted(CT_ROOTS))
def test_incremental_root_matches_certificate_transparency_vector(size: int) -> None:
    grown, _ = CompactRange(0).extend(CT_LEAVES[:size])
    assert grown.root().hex() == CT_ROOTS[size]


def test_the_empty_range_has_the_empty_root() -> None:
    assert CompactRange(0).root() == merkle.EMPTY_ROOT == root_plan(0).hashes({})[0]


def test_every_append_keeps_the_root_equal_to_the_reference() -> None:
    grown = CompactRange(0)
    for size in range(1, MAX + 1):
        grown, _ = grown.append(LEAVES[size - 1])
        assert grown.size == size
        assert grown.root() == merkle.root(LEAVES[:size]), size


def test_each_node_is_made_once_when_its_last_leaf_arrives_and_is_that_subtree_root() -> None:
    made = [(n.level, n.idx) for n in MADE]
    assert len(made) == len(set(made)) == 2 * MAX - MAX.bit_count()
    for level, index in made:
        start = index << level
        assert NODES[(level, index)] == merkle.root(LEAVES[start : start + (1 << level)])
    grown = CompactRange(0)
    for i, leaf in enumerate(LEAVES):
        grown, nodes = grown.append(leaf)
        assert all((n.idx + 1) << n.level == i + 1 for n in nodes), "completed by this leaf"


@pytest.mark.parametrize("size", [0, 1, 5, 64, 255, MAX])
def test_a_frontier_read_back_from_stored_nodes_grows_like_the_original(size: int) -> None:
    again = CompactRange.of(size, stored_at(size))
    assert again == frontier(size)
    assert again.extend(LEAVES[size:]) == frontier(size).extend(LEAVES[size:])


@pytest.mark.parametrize(("size", "count"), [(-1, 0), (0, 1), (3, 1), (4, 2)])
def test_a_frontier_needs_one_hash_per_set_bit_of_its_size(size: int, count: int) -> None:
    with pytest.raises(ValueError, match="frontier"):
        CompactRange(size, tuple(LEAVES[:count]))


# --- roots and proofs from stored nodes, against the reference -------------------------


@pytest.mark.parametrize("size", range(MAX + 1))
def test_root_and_proofs_from_nodes_equal_the_reference_at_every_size(size: int) -> None:
    leaves, stored = LEAVES[:size], stored_at(size)
    assert root_plan(size).hashes(stored) == [merkle.root(leaves)]
    for index in {0, size // 3, size // 2, size - 1} if size else ():
        assert inclusion_plan(index, size).hashes(stored) == merkle.inclusion_proof(index, leaves)
    for old in {0, 1, size // 3, size // 2, size - 1, size} if size else {0}:
        expected = merkle.consistency_proof(old, leaves)
        assert consistency_plan(old, size).hashes(stored) == expected, old


@given(st.integers(1, MAX).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_inclusion_from_nodes_equals_the_reference(case: tuple[int, int]) -> None:
    index, size = case
    proof = inclusion_plan(index, size).hashes(stored_at(size))
    assert proof == merkle.inclusion_proof(index, LEAVES[:size])
    assert merkle.verify_inclusion(index, size, LEAVES[index], proof, merkle.root(LEAVES[:size]))


@given(st.integers(0, MAX).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_consistency_from_nodes_equals_the_reference(case: tuple[int, int]) -> None:
    old, size = case
    proof = consistency_plan(old, size).hashes(stored_at(size))
    assert proof == merkle.consistency_proof(old, LEAVES[:size])
    old_root, new_root = merkle.root(LEAVES[:old]), merkle.root(LEAVES[:size])
    assert merkle.verify_consistency(old, size, old_root, new_root, proof)


@given(st.integers(1, 2**48), st.data())
def test_a_plan_reads_at_most_two_nodes_per_level_however_large_the_tree(
    size: int, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    bound = 2 * size.bit_length()
    for plan in (root_plan(size), inclusion_plan(index, size), consistency_plan(old, size)):
        assert len(plan.nodes) <= bound
        assert all((i + 1) << level <= size for level, i in plan.nodes), "only complete nodes"


def test_covering_splits_a_span_along_its_set_bits() -> None:
    assert covering(0, 0) == []
    assert covering(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert covering(16, 22) == [(2, 4), (1, 10)]


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_an_inclusion_plan_refuses_an_index_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_plan(index, size)


@pytest.mark.parametrize(("old", "size"), [(-1, 3), (4, 3)])
def test_a_consistency_plan_refuses_an_old_size_outside_the_tree(old: int, size: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        consistency_plan(old, size)


def test_a_root_plan_refuses_a_negative_size() -> None:
    with pytest.raises(ValueError, match="negative"):
        root_plan(-1)
