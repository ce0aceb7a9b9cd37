"""RFC 9162 Merkle tree hashing and proof verification (section 2.1).

These are the verification algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2,
written from the RFC's text and sharing no code with the registry, which
builds the proofs from stored subtree hashes. Verification returns ``None`` and
raises a typed error; it never returns a bare boolean.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from verifier.transparency.errors import ConsistencyProofInvalid, InclusionProofInvalid

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: The root of the empty tree: SHA-256 of the empty string (RFC 9162, 2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()
# A proof never has more hashes than the tree has levels; 64 levels covers 2**64 leaves.
_MAX_PROOF_HASHES = 64


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 || entry)``: the domain-separated hash of one log entry."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hashes(hashes: Sequence[bytes], error: type[Exception], what: str) -> None:
    if len(hashes) > _MAX_PROOF_HASHES:
        raise error(f"{what} has {len(hashes)} hashes; no tree is that deep")
    for item in hashes:
        if not isinstance(item, bytes) or len(item) != HASH_SIZE:
            raise error(f"{what} holds a value that is not a {HASH_SIZE}-byte hash")


def root_from_inclusion_proof(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root the proof leads to from ``leaf`` at ``index`` (RFC 9162, 2.1.3.2)."""
    if not 0 <= index < tree_size:
        raise InclusionProofInvalid(f"leaf index {index} is outside a tree of size {tree_size}")
    _check_hashes([leaf], InclusionProofInvalid, "leaf hash")
    _check_hashes(proof, InclusionProofInvalid, "inclusion proof")
    fn, sn = index, tree_size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            raise InclusionProofInvalid("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofInvalid("inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is entry ``index`` of the tree of ``tree_size`` with ``root``."""
    computed = root_from_inclusion_proof(index, tree_size, leaf, proof)
    if not hmac.compare_digest(computed, root):
        raise InclusionProofInvalid(
            f"inclusion proof for entry {index} does not lead to the root of tree size {tree_size}"
        )


def verify_consistency(
    first: int,
    second: int,
    proof: Sequence[bytes],
    first_root: bytes,
    second_root: bytes,
) -> None:
    """Check that the tree (``first``, ``first_root``) is a prefix of (``second``, ``second_root``).

    RFC 9162, 2.1.4.2. A tree of size 0 is a prefix of every tree (empty proof).
    """
    _check_hashes(proof, ConsistencyProofInvalid, "consistency proof")
    _check_hashes([first_root, second_root], ConsistencyProofInvalid, "root")
    if not 0 <= first <= second:
        raise ConsistencyProofInvalid(f"tree size {first} cannot precede tree size {second}")
    if first == 0 or first == second:
        if proof:
            raise ConsistencyProofInvalid(
                f"a consistency proof from size {first} to {second} must be empty"
            )
        if first == second and not hmac.compare_digest(first_root, second_root):
            raise ConsistencyProofInvalid(f"two different roots for the same tree size {first}")
        if first == 0 and not hmac.compare_digest(first_root, EMPTY_ROOT):
            raise ConsistencyProofInvalid("the root of an empty tree must be SHA-256 of nothing")
        return
    if not proof:
        raise ConsistencyProofInvalid(f"empty consistency proof from size {first} to {second}")
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for value in path[1:]:
        if sn == 0:
            raise ConsistencyProofInvalid("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(value, fr)
            sr = node_hash(value, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, value)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyProofInvalid("consistency proof is shorter than the tree is deep")
    if not hmac.compare_digest(fr, first_root):
        raise ConsistencyProofInvalid(
            f"consistency proof does not reproduce the root of tree size {first}"
        )
    if not hmac.compare_digest(sr, second_root):
        raise ConsistencyProofInvalid(
            f"consistency proof does not reproduce the root of tree size {second}"
        )
