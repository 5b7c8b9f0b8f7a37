"""The Merkle log kept incrementally: stored perfect subtrees instead of every leaf.

A tree of RFC 9162 §2.1 is made of *perfect subtrees*: node ``(level, idx)`` is
the root of the ``2**level`` leaves from ``idx * 2**level`` on, and it never
changes once its last leaf is in. A log that stores each one as it completes
(fewer than two per leaf, never rewritten) answers for any tree size up to its
own from O(log n) of them, never from every leaf:

* the **compact range** of ``n`` leaves (§2.1's right frontier) is the perfect
  subtrees covering leaves ``0 .. n-1``, one per set bit of ``n``, largest
  first. Appending a leaf carries into it like a binary counter and yields the
  nodes it completed; the root folds it from the right.
* every hash in an inclusion or consistency proof is the MTH of a *span* of
  leaves that starts at a multiple of a power of two no smaller than its length,
  and such a span is covered by at most one stored node per level.

Nothing here touches storage: a :class:`Plan` names the nodes a root or proof
needs, the store reads them, and the plan combines them. The full-list
functions of :mod:`parley.domain.merkle` stay the reference implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from parley.domain import merkle

NodeId = tuple[int, int]
"""``(level, idx)``: the perfect subtree over the ``2**level`` leaves from ``idx * 2**level``."""

Span = tuple[int, int]
"""Leaves ``start .. end-1`` of one subtree hashed in a proof."""


class Node(NamedTuple):
    """A perfect subtree's hash, as stored."""

    level: int
    idx: int
    hash: bytes


def covering(start: int, end: int) -> list[NodeId]:
    """The perfect subtrees that cover leaves ``start .. end-1``, largest first.

    ``start`` must be a multiple of a power of two no smaller than ``end - start``,
    as 0 is and every span of an RFC 9162 tree is: then their fold is the span's MTH.
    """
    ids: list[NodeId] = []
    size = end - start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            ids.append((level, start >> level))
            start += 1 << level
    return ids


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of a span from its covering nodes' hashes: each joins what lies to its right."""
    if not hashes:
        return merkle.EMPTY_ROOT
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = merkle.node_hash(h, result)
    return result


@dataclass(frozen=True)
class CompactRange:
    """The right frontier of a tree of ``size`` leaves: the hashes of ``covering(0, size)``.

    Raises ValueError unless there is one hash per set bit of a non-negative ``size``.
    """

    size: int
    hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.size < 0 or len(self.hashes) != self.size.bit_count():
            raise ValueError(f"{len(self.hashes)} hashes cannot be the frontier of {self.size}")

    @classmethod
    def of(cls, size: int, stored: Mapping[NodeId, bytes]) -> CompactRange:
        """The frontier of ``size`` leaves, read from ``stored`` (KeyError for a missing node)."""
        return cls(size, tuple(stored[node] for node in covering(0, size)))

    def root(self) -> bytes:
        """MTH of the tree, in O(log n) hashes."""
        return _fold(self.hashes)

    def append(self, leaf: bytes) -> tuple[CompactRange, list[Node]]:
        """The frontier one leaf hash longer, and the nodes that leaf completed, lowest first."""
        frontier = list(self.hashes)
        index, level, h = self.size, 0, leaf
        made = [Node(0, index, h)]
        # A right child (odd index) completes its parent with the frontier's smallest node.
        while index & 1:
            h = merkle.node_hash(frontier.pop(), h)
            index, level = index >> 1, level + 1
            made.append(Node(level, index, h))
        frontier.append(h)
        return CompactRange(self.size + 1, tuple(frontier)), made

    def extend(self, leaves: Iterable[bytes]) -> tuple[CompactRange, list[Node]]:
        """:meth:`append` each leaf hash in turn; every node completed, in the order made."""
        grown, made = self, []
        for leaf in leaves:
            grown, nodes = grown.append(leaf)
            made += nodes
        return grown, made


@dataclass(frozen=True)
class Plan:
    """A root or proof as spans of leaves: which stored nodes it needs, and how to join them."""

    spans: tuple[Span, ...]

    @property
    def nodes(self) -> list[NodeId]:
        """Every node the plan reads, each once: at most two per level of the tree."""
        return list(dict.fromkeys(node for span in self.spans for node in covering(*span)))

    def hashes(self, stored: Mapping[NodeId, bytes]) -> list[bytes]:
        """The MTH of each span from the nodes in ``stored`` (KeyError for a missing one)."""
        return [_fold([stored[node] for node in covering(*span)]) for span in self.spans]


def root_plan(tree_size: int) -> Plan:
    """MTH(D[tree_size]) as one span; raises ValueError for a negative size."""
    if tree_size < 0:
        raise ValueError(f"tree size {tree_size} is negative")
    return Plan(((0, tree_size),))


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_plan(index: int, tree_size: int) -> Plan:
    """PATH(index, D[tree_size]) of RFC 9162 §2.1.3.1, leaf first, as spans.

    Raises ValueError unless ``0 <= index < tree_size``.
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of {tree_size} leaves")
    spans: list[Span] = []
    lo, hi = 0, tree_size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            spans.append((lo + k, hi))
            hi = lo + k
        else:
            spans.append((lo, lo + k))
            lo += k
    return Plan(tuple(reversed(spans)))


def consistency_plan(old_size: int, tree_size: int) -> Plan:
    """PROOF(old_size, D[tree_size]) of RFC 9162 §2.1.4.1 as spans, with the edges of
    :func:`parley.domain.merkle.consistency_proof` (empty for 0 and for ``tree_size``).

    Raises ValueError unless ``0 <= old_size <= tree_size``.
    """
    if not 0 <= old_size <= tree_size:
        raise ValueError(f"old size {old_size} is outside 0..{tree_size}")
    if old_size == 0:
        return Plan(())
    spans: list[Span] = []
    m, lo, hi, complete = old_size, 0, tree_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            spans.append((lo + k, hi))
            hi = lo + k
        else:
            spans.append((lo, lo + k))
            m, lo, complete = m - k, lo + k, False
    if not complete:
        spans.append((lo, hi))
    return Plan(tuple(reversed(spans)))
