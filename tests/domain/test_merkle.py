"""The RFC 9162 §2.1 Merkle tree: known answers, proofs that verify, tampering that doesn't."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest

from parley.domain import merkle
from parley.domain.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# The Certificate Transparency reference test tree: leaf inputs and the root of each prefix.
CT_INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
CT_LEAVES = [leaf_hash(d) for d in CT_INPUTS]

# Distinct leaves, so that a proof can only verify for the leaf it was made for.
LEAVES = [leaf_hash(i.to_bytes(2, "big")) for i in range(64)]
ROOTS = [root(LEAVES[:n]) for n in range(len(LEAVES) + 1)]
STRANGER = hashlib.sha256(b"not in any tree").digest()


def flip(h: bytes, bit: int = 0) -> bytes:
    """``h`` with one bit inverted."""
    b = bytearray(h)
    b[(bit // 8) % len(b)] ^= 1 << (bit % 8)
    return bytes(b)


def tampered(proof: Sequence[bytes]) -> list[list[bytes]]:
    """Every proof one edit away from ``proof``: a bit flipped, an element dropped or added."""
    variants: list[list[bytes]] = []
    for i in range(len(proof)):
        variants.append([*proof[:i], flip(proof[i], 37 * i), *proof[i + 1 :]])
        variants.append([*proof[:i], *proof[i + 1 :]])
    for i in range(len(proof) + 1):
        variants.append([*proof[:i], STRANGER, *proof[i:]])
    if proof:
        variants.append([*proof, proof[-1]])
        variants.append([proof[0], *proof])
    return variants


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH written again from the RFC text, sharing no code with the module."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = reference_root(leaves[:k]), reference_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def bottom_up_root(leaves: Sequence[bytes]) -> bytes:
    """MTH level by level: pair neighbours, carry an odd last node up unchanged."""
    level = list(leaves) or [hashlib.sha256(b"").digest()]
    while len(level) > 1:
        pairs = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        level = pairs + level[len(level) - len(level) % 2 :]
    return level[0]


def path_sides(index: int, size: int) -> tuple[str, ...] | None:
    """Which side each sibling on PATH(index, D[size]) sits on, leaf first; None if no path."""
    if not 0 <= index < size:
        return None
    sides: list[str] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        if index < lo + k:
            sides.append("right")
            hi = lo + k
        else:
            sides.append("left")
            lo += k
    return tuple(reversed(sides))


# --- hashing ---------------------------------------------------------------------------


def test_leaf_and_node_hashes_are_prefixed_sha256() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = b"L" * 32, b"R" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_domain_separation_keeps_a_subtree_from_posing_as_a_leaf() -> None:
    # Without the prefixes, the leaf "h0 || h1" would hash to the root of the tree [h0, h1].
    two = root(CT_LEAVES[:2])
    assert leaf_hash(CT_LEAVES[0] + CT_LEAVES[1]) != two
    assert root([CT_LEAVES[0] + CT_LEAVES[1]]) != two


# --- roots -----------------------------------------------------------------------------


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    assert root([]).hex() == expected


@pytest.mark.parametrize("size", sorted(CT_ROOTS))
def test_root_matches_certificate_transparency_vector(size: int) -> None:
    assert root(CT_LEAVES[:size]).hex() == CT_ROOTS[size]


@pytest.mark.parametrize("size", range(65))
def test_root_matches_independent_reference(size: int) -> None:
    assert root(LEAVES[:size]) == reference_root(LEAVES[:size]) == bottom_up_root(LEAVES[:size])


# --- inclusion -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "size", "length"), [(0, 1, 0), (0, 8, 3), (5, 8, 3), (2, 3, 1), (1, 5, 3)]
)
def test_inclusion_proof_length_matches_certificate_transparency_vector(
    index: int, size: int, length: int
) -> None:
    proof = inclusion_proof(index, CT_LEAVES[:size])
    assert len(proof) == length
    assert verify_inclusion(index, size, CT_LEAVES[index], proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize("size", range(1, 41))
def test_inclusion_proof_verifies_and_any_tampering_is_rejected(size: int) -> None:
    leaves, good_root = LEAVES[:size], ROOTS[size]
    for index in range(size):
        leaf, proof = leaves[index], inclusion_proof(index, leaves)
        assert verify_inclusion(index, size, leaf, proof, good_root), (size, index)
        for bad in tampered(proof):
            assert not verify_inclusion(index, size, leaf, bad, good_root), (size, index, bad)
        for other in [-1, *range(size + 1)]:
            if other != index:
                assert not verify_inclusion(other, size, leaf, proof, good_root), (index, other)
        for other_leaf in [flip(leaf), *(x for x in leaves if x != leaf)]:
            assert not verify_inclusion(index, size, other_leaf, proof, good_root), (size, index)
        for bad_root in [flip(good_root), *(r for n, r in enumerate(ROOTS) if n != size)]:
            assert not verify_inclusion(index, size, leaf, proof, bad_root), (size, index)
        for other_size in range(-1, size + 9):
            if other_size == size:
                continue
            # Only a size that shapes the path differently can be caught: the root
            # commits to the leaves, not to the size (see verify_inclusion).
            same_shape = path_sides(index, other_size) == path_sides(index, size)
            got = verify_inclusion(index, other_size, leaf, proof, good_root)
            assert got == same_shape, (size, index, other_size)
            if other_size > index:
                own_root = ROOTS[other_size]
                assert not verify_inclusion(index, other_size, leaf, proof, own_root)


def test_tree_size_only_shapes_the_path() -> None:
    # Leaf 0 climbs right-right in trees of 3 and of 4 leaves: the size is not committed.
    proof = inclusion_proof(0, LEAVES[:3])
    assert verify_inclusion(0, 4, LEAVES[0], proof, ROOTS[3])
    assert not verify_inclusion(0, 4, LEAVES[0], proof, ROOTS[4])


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0), (7, 2)])
def test_inclusion_proof_rejects_an_index_outside_the_tree(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(index, LEAVES[:size])


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0), (0, -1), (5, 2)])
def test_verify_inclusion_returns_false_for_impossible_positions(index: int, size: int) -> None:
    assert not verify_inclusion(index, size, LEAVES[0], [], ROOTS[1])


def test_verify_inclusion_returns_false_for_malformed_hashes() -> None:
    proof = inclusion_proof(2, LEAVES[:5])
    assert not verify_inclusion(2, 5, LEAVES[2], [*proof[:-1], b""], ROOTS[5])
    assert not verify_inclusion(2, 5, b"", proof, ROOTS[5])
    assert not verify_inclusion(2, 5, LEAVES[2], proof, b"")


# --- consistency -----------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "length"), [(1, 1, 0), (1, 8, 3), (6, 8, 3), (2, 5, 2)])
def test_consistency_proof_length_matches_certificate_transparency_vector(
    old: int, new: int, length: int
) -> None:
    proof = consistency_proof(old, CT_LEAVES[:new])
    assert len(proof) == length
    old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, proof)


def test_consistency_proof_nodes_are_the_rfc_subtrees() -> None:
    assert consistency_proof(6, CT_LEAVES) == [
        root(CT_LEAVES[4:6]),
        root(CT_LEAVES[6:8]),
        bytes.fromhex(CT_ROOTS[4]),
    ]
    assert consistency_proof(2, CT_LEAVES[:5]) == [root(CT_LEAVES[2:4]), CT_LEAVES[4]]


@pytest.mark.parametrize(("old", "new"), [(m, n) for n in range(1, 21) for m in range(1, n + 1)])
def test_consistency_proof_verifies_and_any_tampering_is_rejected(old: int, new: int) -> None:
    proof = consistency_proof(old, LEAVES[:new])
    old_root, new_root = ROOTS[old], ROOTS[new]
    assert verify_consistency(old, new, old_root, new_root, proof)
    for bad in tampered(proof):
        assert not verify_consistency(old, new, old_root, new_root, bad), bad
    if not proof:
        assert not verify_consistency(old, new, old_root, new_root, [STRANGER])
    for bad_old in [flip(old_root), *(r for n, r in enumerate(ROOTS) if n != old)]:
        assert not verify_consistency(old, new, bad_old, new_root, proof)
    for bad_new in [flip(new_root), *(r for n, r in enumerate(ROOTS) if n != new)]:
        assert not verify_consistency(old, new, old_root, bad_new, proof)
    if old < new:
        for other_old, other_new in [(m, n) for m in range(-1, 25) for n in range(-1, 25)]:
            if (other_old, other_new) != (old, new):
                own_old, own_new = ROOTS[max(other_old, 0)], ROOTS[max(other_new, 0)]
                got = verify_consistency(other_old, other_new, own_old, own_new, proof)
                assert not got, (other_old, other_new)
        assert not verify_consistency(new, old, old_root, new_root, proof)
        assert not verify_consistency(new, old, new_root, old_root, proof)
        # RFC 9162 §2.1.4.2 step 1: a real extension always needs a proof.
        assert not verify_consistency(old, new, old_root, new_root, [])


def test_consistency_sizes_are_checked_to_the_last_step() -> None:
    # Both roots come out right, but sn is not 0 at the end (RFC 9162 §2.1.4.2 step 7).
    proof = consistency_proof(1, LEAVES[:2])
    assert verify_consistency(1, 2, ROOTS[1], ROOTS[2], proof)
    assert not verify_consistency(1, 3, ROOTS[1], ROOTS[2], proof)


def test_consistency_sizes_only_shape_the_proof() -> None:
    # A tree of 2 is a complete subtree of a tree of 3, so its root serves as the proof's
    # first node: the roots do not commit to the sizes.
    proof = consistency_proof(1, LEAVES[:2])
    assert verify_consistency(2, 3, ROOTS[1], ROOTS[2], proof)
    assert not verify_consistency(2, 3, ROOTS[2], ROOTS[3], proof)


def test_a_long_hostile_proof_costs_no_more_hashes_than_the_tree_is_tall(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    padding = [STRANGER] * 1000
    inclusion = [*inclusion_proof(5, LEAVES[:8]), *padding]
    consistency = [*consistency_proof(3, LEAVES[:8]), *padding]
    calls = 0
    real_node_hash = merkle.node_hash

    def counting_node_hash(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return real_node_hash(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting_node_hash)
    assert not verify_inclusion(5, 8, LEAVES[5], inclusion, ROOTS[8])
    assert calls <= 3
    calls = 0
    assert not verify_consistency(3, 8, ROOTS[3], ROOTS[8], consistency)
    assert calls <= 2 * 4


@pytest.mark.parametrize("new", range(21))
def test_the_empty_tree_is_a_prefix_of_every_tree(new: int) -> None:
    assert consistency_proof(0, LEAVES[:new]) == []
    assert verify_consistency(0, new, EMPTY_ROOT, ROOTS[new], [])
    assert not verify_consistency(0, new, EMPTY_ROOT, ROOTS[new], [STRANGER])
    assert not verify_consistency(0, new, flip(EMPTY_ROOT), ROOTS[new], [])


@pytest.mark.parametrize("old", [-1, 6])
def test_consistency_proof_rejects_an_old_size_outside_the_tree(old: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        consistency_proof(old, LEAVES[:5])


@pytest.mark.parametrize(("old", "new"), [(-1, 3), (-2, -1), (4, 3), (3, -1)])
def test_verify_consistency_returns_false_for_impossible_sizes(old: int, new: int) -> None:
    assert not verify_consistency(old, new, ROOTS[1], ROOTS[3], [STRANGER])
    assert not verify_consistency(old, new, ROOTS[1], ROOTS[3], [])
