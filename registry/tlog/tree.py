"""The shape of an RFC 9162 tree stored as complete subtrees (pure, no I/O).

Every complete, aligned subtree is stored once, as ``(level, index)``: it
covers leaves ``[index * 2**level, (index + 1) * 2**level)``. Level 0 holds the
leaf hashes. A node is written in the batch that completes it and never
changes, so any tree size's proof is a few stored nodes folded together:

* a range ``[a, b)`` that RFC 9162's recursion produces is aligned at its
  start, so it splits into complete subtrees of decreasing size, and its hash
  (MTH) is those subtrees folded from the right;
* an inclusion or consistency proof is a list of such ranges (RFC 9162 2.1.3.1
  and 2.1.4.1, unrolled into loops).

Proofs are built here and checked by :mod:`verifier.transparency._merkle`,
which implements the RFC's verification algorithms independently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

NodeId = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)

EMPTY_ROOT = hashlib.sha256(b"").digest()


def hash_leaf(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split_point(n: int) -> int:
    """The largest power of two strictly below ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeId]:
    """The complete subtrees that make up ``[start, end)``, left to right."""
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    nodes: list[NodeId] = []
    position = start
    while position < end:
        level = (end - position).bit_length() - 1
        if position % (1 << level):
            raise ValueError(f"[{start}, {end}) is not a subtree of an RFC 9162 tree")
        nodes.append((level, position >> level))
        position += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The MTH of consecutive complete subtrees of decreasing size: fold from the right."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = hash_children(left, result)
    return result


def inclusion_ranges(index: int, tree_size: int) -> list[Range]:
    """The ranges whose hashes form the inclusion proof of ``index``, leaf side first."""
    if not 0 <= index < tree_size:
        raise ValueError(f"index {index} outside a tree of size {tree_size}")
    path: list[Range] = []
    low, high = 0, tree_size
    while high - low > 1:
        middle = low + _split_point(high - low)
        if index < middle:
            path.append((middle, high))
            high = middle
        else:
            path.append((low, middle))
            low = middle
    path.reverse()
    return path


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The ranges whose hashes form the consistency proof from ``first`` to ``second``."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from size {first} to {second}")
    path: list[Range] = []
    low, high, whole = 0, second, True
    while first != high:
        middle = low + _split_point(high - low)
        if first <= middle:
            path.append((middle, high))
            high = middle
        else:
            path.append((low, middle))
            low = middle
            whole = False
    if not whole:
        path.append((low, high))
    path.reverse()
    return path


def nodes_for(ranges: Iterable[Range]) -> set[NodeId]:
    """Every stored node needed to hash ``ranges``."""
    needed: set[NodeId] = set()
    for start, end in ranges:
        needed.update(range_nodes(start, end))
    return needed


def hash_ranges(ranges: Sequence[Range], stored: Mapping[NodeId, bytes]) -> list[bytes]:
    """The hashes of ``ranges`` from the stored nodes (``KeyError`` if one is missing)."""
    return [fold([stored[node] for node in range_nodes(a, b)]) for a, b in ranges]


def peak_nodes(tree_size: int) -> list[NodeId]:
    """The complete subtrees covering the whole tree: one per set bit of its size."""
    return range_nodes(0, tree_size) if tree_size else []


@dataclass(slots=True)
class Frontier:
    """The right edge of the tree: its peaks, enough to append and to compute the root."""

    size: int = 0
    peaks: list[tuple[int, bytes]] = field(default_factory=list)  # (level, hash), left to right

    @classmethod
    def from_stored(cls, tree_size: int, stored: Mapping[NodeId, bytes]) -> Frontier:
        return cls(tree_size, [(level, stored[(level, i)]) for level, i in peak_nodes(tree_size)])

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self.peaks))

    def append(self, leaf_hashes: Iterable[bytes]) -> list[tuple[int, int, bytes]]:
        """Add leaves; return every node completed, as ``(level, index, hash)``."""
        created: list[tuple[int, int, bytes]] = []
        peaks = self.peaks
        for leaf in leaf_hashes:
            index = self.size
            self.size += 1
            level, node = 0, leaf
            created.append((0, index, leaf))
            while peaks and peaks[-1][0] == level:
                node = hash_children(peaks.pop()[1], node)
                level += 1
                index >>= 1
                created.append((level, index, node))
            peaks.append((level, node))
        return created

    def root(self) -> bytes:
        if not self.peaks:
            return EMPTY_ROOT
        return fold([h for _, h in self.peaks])
