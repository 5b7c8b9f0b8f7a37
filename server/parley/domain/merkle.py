"""The append-only Merkle tree of RFC 9162 §2.1 (the same tree as RFC 6962), over SHA-256.

A leaf is hashed as ``SHA-256(0x00 || data)`` and an interior node as
``SHA-256(0x01 || left || right)``. The distinct prefixes are domain separation: no
leaf hash can equal a node hash, so nobody can present an interior node as a leaf
(or a leaf as a subtree) to get a second preimage of a root.

Every function except :func:`leaf_hash` works on leaf *hashes*: callers hash their
entries once with :func:`leaf_hash` and pass the results in. Verifiers return
``False`` and never raise, so a hostile proof can only ever be rejected.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the empty tree, the hash of the empty string (RFC 9162 §2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d): the hash of one leaf entry."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1 over ``leaves``, which are leaf hashes.

    The empty tree's root is :data:`EMPTY_ROOT`; one leaf's root is that leaf hash itself.
    """
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) of RFC 9162 §2.1.3.1, ordered from the leaf up to the root.

    Raises ValueError unless ``0 <= index < len(leaves)``.
    """
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf index {index} is outside a tree of {len(leaves)} leaves")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree with ``root``.

    The algorithm of RFC 9162 §2.1.3.2, step for step. False, never an exception, for an
    index outside ``0 <= index < tree_size``, a proof too long or too short, or any hash
    that does not fit. The root commits to the leaves, not to ``tree_size``: the size
    only shapes the path, so a proof also verifies under another size whose path to
    ``index`` has the same shape. Callers take the size from the same signed head as
    ``root``.
    """
    if not 0 <= index < tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # Climb past the levels where this node is a right edge without a sibling.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1; ``complete`` is ``b``."""
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 9162 §2.1.4.1: the tree of ``old_size`` is a prefix.

    The RFC defines proofs for ``0 < old_size < n``. At the edges the proof is empty:
    ``old_size == n`` (SUBPROOF(m, D[m], true) = {}) and ``old_size == 0`` (the empty
    tree is a prefix of every tree, so there is nothing to prove). Raises ValueError
    unless ``0 <= old_size <= len(leaves)``.
    """
    if not 0 <= old_size <= len(leaves):
        raise ValueError(f"old size {old_size} is outside 0..{len(leaves)}")
    if old_size == 0:
        return []
    return _subproof(old_size, leaves, True)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree (old_size, old_root) is a prefix of (new_size, new_root).

    For ``0 < old_size < new_size`` this is RFC 9162 §2.1.4.2 step for step, including
    its step 1: an empty proof fails. The RFC leaves the edges undefined; here they take
    an empty proof and nothing else:

    - ``old_size == new_size``: valid iff ``old_root == new_root``.
    - ``old_size == 0``: valid iff ``old_root`` is :data:`EMPTY_ROOT`; ``new_root`` is
      unconstrained, as every tree extends the empty one.

    False, never an exception, for a negative size, ``old_size > new_size``, or any proof
    too long, too short or with a hash that does not fit. As with :func:`verify_inclusion`,
    the roots do not commit to the sizes: take both from the same signed heads as the roots.
    """
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a complete subtree of the new one, so the proof omits its root.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
