"""RFC 9162 proofs built from stored subtrees agree with two independent implementations.

Pure logic, no database: the registry's proof construction (registry.tlog.tree)
is checked for every tree size 1..100, every index and every older size,
against the RFC's recursive definitions (tests/registry/tlog/reference.py), against
sigstore-python's inclusion chaining, and through verifier.transparency.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.tlog.tree import (
    Frontier,
    consistency_ranges,
    hash_ranges,
    inclusion_ranges,
    range_nodes,
)
from tests.registry.tlog import reference
from verifier.transparency import (
    EMPTY_ROOT,
    ConsistencyProofInvalid,
    InclusionProofInvalid,
    leaf_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [reference.leaf(f"entry {i}".encode()) for i in range(100)]


def _stored(leaves: list[bytes], batches: list[int]) -> dict[tuple[int, int], bytes]:
    """Nodes as the log writes them, in batches of the given sizes."""
    frontier, stored, position = Frontier(), {}, 0
    for size in batches:
        for level, index, value in frontier.append(leaves[position : position + size]):
            stored[(level, index)] = value
        position += size
    assert position == len(leaves)
    return stored


STORED = _stored(LEAVES, [1, 2, 3, 7, 16, 33, 38])


def test_leaf_hash_is_domain_separated():
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert reference.mth([]) == EMPTY_ROOT == Frontier().root()


@pytest.mark.parametrize("n", range(1, 101))
def test_every_proof_up_to_100_entries_matches_the_rfc(n: int) -> None:
    leaves = LEAVES[:n]
    root = reference.mth(leaves)
    assert Frontier.from_stored(n, STORED).root() == root
    for m in range(n):
        hashes = hash_ranges(inclusion_ranges(m, n), STORED)
        assert hashes == reference.path(m, leaves)
        assert reference.sigstore_root(m, n, leaves[m], hashes) == root
        verify_inclusion(m, n, leaves[m], hashes, root)
    for m in range(1, n + 1):
        hashes = hash_ranges(consistency_ranges(m, n), STORED)
        assert hashes == reference.proof(m, leaves)
        verify_consistency(m, n, hashes, reference.mth(LEAVES[:m]), root)


def test_frontier_root_is_the_same_whatever_the_batching():
    once = _stored(LEAVES, [100])
    assert once == STORED
    assert Frontier.from_stored(100, once).root() == reference.mth_iterative(LEAVES)


def test_the_reference_prefix_roots_agree_with_the_rfc_recursion():
    levels = reference.perfect_levels(LEAVES)
    assert all(reference.prefix_root(levels, m) == reference.mth(LEAVES[:m]) for m in range(1, 101))


def test_range_nodes_refuses_a_range_that_is_no_subtree():
    with pytest.raises(ValueError):
        range_nodes(1, 3)
    with pytest.raises(ValueError):
        range_nodes(4, 4)


@given(st.data())
def test_tampered_inclusion_proofs_fail(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 99))
    m = data.draw(st.integers(0, n - 1))
    leaves = LEAVES[:n]
    root = reference.mth(leaves)
    hashes = reference.path(m, leaves)
    choice = data.draw(st.sampled_from(["flip", "drop", "extra", "index", "size", "leaf"]))
    with pytest.raises(InclusionProofInvalid):
        if choice == "flip":
            i = data.draw(st.integers(0, len(hashes) - 1))
            bad = bytearray(hashes[i])
            bad[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
            verify_inclusion(m, n, leaves[m], [*hashes[:i], bytes(bad), *hashes[i + 1 :]], root)
        elif choice == "drop":
            verify_inclusion(m, n, leaves[m], hashes[:-1], root)
        elif choice == "extra":
            verify_inclusion(m, n, leaves[m], [*hashes, LEAVES[0]], root)
        elif choice == "index":
            other = data.draw(st.integers(0, n - 1).filter(lambda x: x != m))
            verify_inclusion(other, n, leaves[m], hashes, root)
        elif choice == "size":  # the same proof cannot also place the leaf in a larger tree
            verify_inclusion(m, n + 1, leaves[m], hashes, reference.mth(LEAVES[: n + 1]))
        else:
            verify_inclusion(m, n, reference.leaf(b"forged"), hashes, root)


@given(st.data())
def test_tampered_consistency_proofs_fail(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 99))
    m = data.draw(st.integers(1, n - 1))
    old, new = reference.mth(LEAVES[:m]), reference.mth(LEAVES[:n])
    hashes = reference.proof(m, LEAVES[:n])
    choice = data.draw(st.sampled_from(["flip", "drop", "extra", "old", "new", "size"]))
    with pytest.raises(ConsistencyProofInvalid):
        if choice == "flip":
            i = data.draw(st.integers(0, len(hashes) - 1))
            bad = bytes([hashes[i][0] ^ 1]) + hashes[i][1:]
            verify_consistency(m, n, [*hashes[:i], bad, *hashes[i + 1 :]], old, new)
        elif choice == "drop":
            verify_consistency(m, n, hashes[:-1], old, new)
        elif choice == "extra":
            verify_consistency(m, n, [*hashes, LEAVES[0]], old, new)
        elif choice == "old":
            verify_consistency(m, n, hashes, reference.leaf(b"fork"), new)
        elif choice == "new":
            verify_consistency(m, n, hashes, old, reference.leaf(b"fork"))
        else:
            verify_consistency(m, n + 1, hashes, old, reference.mth(LEAVES[: n + 1]))


def test_inclusion_edge_cases_fail_closed():
    with pytest.raises(InclusionProofInvalid, match="outside"):
        root_from_inclusion_proof(0, 0, LEAVES[0], [])
    with pytest.raises(InclusionProofInvalid, match="outside"):
        root_from_inclusion_proof(-1, 3, LEAVES[0], [])
    with pytest.raises(InclusionProofInvalid, match="32-byte"):
        root_from_inclusion_proof(0, 2, LEAVES[0], [b"short"])
    with pytest.raises(InclusionProofInvalid, match="32-byte"):
        root_from_inclusion_proof(0, 1, b"short", [])
    with pytest.raises(InclusionProofInvalid, match="deep"):
        root_from_inclusion_proof(0, 2, LEAVES[0], [LEAVES[1]] * 65)


def test_consistency_edge_cases():
    root = reference.mth(LEAVES[:5])
    verify_consistency(5, 5, [], root, root)
    verify_consistency(0, 5, [], EMPTY_ROOT, root)
    with pytest.raises(ConsistencyProofInvalid, match="same tree size"):
        verify_consistency(5, 5, [], root, LEAVES[0])
    with pytest.raises(ConsistencyProofInvalid, match="must be empty"):
        verify_consistency(5, 5, [LEAVES[0]], root, root)
    with pytest.raises(ConsistencyProofInvalid, match="empty tree"):
        verify_consistency(0, 5, [], LEAVES[0], root)
    with pytest.raises(ConsistencyProofInvalid, match="cannot precede"):
        verify_consistency(6, 5, [LEAVES[0]], root, root)
    with pytest.raises(ConsistencyProofInvalid, match="empty consistency proof"):
        verify_consistency(3, 5, [], reference.mth(LEAVES[:3]), root)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=12))
def test_any_batching_stores_the_same_nodes(batches: list[int]) -> None:
    total = min(sum(batches), 100)
    sizes, left = [], total
    for size in batches:
        if left == 0:
            break
        sizes.append(min(size, left))
        left -= sizes[-1]
    stored = _stored(LEAVES[:total], sizes)
    assert stored == {k: v for k, v in STORED.items() if (k[1] + 1) << k[0] <= total}
