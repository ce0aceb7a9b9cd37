"""An independent RFC 9162 reference, written from the RFC's recursive definitions.

Deliberately naive (recursion over lists of leaves), sharing nothing with
``registry.tlog.tree`` (which builds proofs from stored subtrees) nor with
``verifier.transparency._merkle`` (which implements the RFC's iterative
verification algorithms). sigstore-python's Merkle helpers are a second oracle.
"""

from __future__ import annotations

import hashlib

from sigstore._internal import merkle as sigstore_merkle


def leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (RFC 9162 2.1.1)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return _node(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 2.1.3.1)."""
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), mth(leaves[:k])]


def proof(m: int, leaves: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 2.1.4.1)."""
    return _subproof(m, leaves, True)


def mth_iterative(leaves: list[bytes]) -> bytes:
    """MTH for large trees without deep recursion: the RFC split, one level at a time."""
    # Merge pairs bottom-up; an odd node at the end is promoted unchanged, which
    # yields the same root as the RFC's largest-power-of-two split.
    level = list(leaves)
    if not level:
        return hashlib.sha256(b"").digest()
    while len(level) > 1:
        merged = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            merged.append(level[-1])
        level = merged
    return level[0]


def perfect_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Hashes of every perfect subtree: ``levels[h][i]`` covers leaves ``[i*2**h, (i+1)*2**h)``."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([_node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def prefix_root(levels: list[list[bytes]], size: int) -> bytes:
    """MTH of the first ``size`` leaves: its perfect subtrees (one per set bit), folded."""
    parts, start = [], 0
    for height in range(size.bit_length() - 1, -1, -1):
        if size >> height & 1:
            parts.append(levels[height][start >> height])
            start += 1 << height
    root = parts[-1]
    for left in reversed(parts[:-1]):
        root = _node(left, root)
    return root


def sigstore_root(index: int, size: int, leaf_hash: bytes, hashes: list[bytes]) -> bytes:
    """The root sigstore-python's inclusion check computes from a proof."""
    inner, border = sigstore_merkle._decomp_inclusion_proof(index, size)
    assert len(hashes) == inner + border, "proof length differs from sigstore's expectation"
    seed = sigstore_merkle._chain_inner(leaf_hash, hashes[:inner], index)
    return sigstore_merkle._chain_border_right(seed, hashes[inner:])
