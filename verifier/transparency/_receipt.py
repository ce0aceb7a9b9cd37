"""Receipts: a signed checkpoint plus an inclusion proof for one log entry.

The hub returns one when it logs an entry; anyone holding the log's verifier key
checks it offline with :func:`verify_receipt`, optionally against the entry's
own bytes (then the leaf hash is recomputed rather than believed).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verifier.transparency._checkpoint import Checkpoint, verify_checkpoint
from verifier.transparency._merkle import HASH_SIZE, leaf_hash, verify_inclusion
from verifier.transparency.errors import ReceiptInvalid
from verifier.transparency.note import VerifierKey

__all__ = ["VerifiedReceipt", "verify_receipt"]


@dataclass(frozen=True, slots=True)
class VerifiedReceipt:
    """What a valid receipt proves: entry ``log_index`` is in the signed ``checkpoint``."""

    log_index: int
    leaf_hash: bytes
    checkpoint: Checkpoint


def _hex_hash(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * HASH_SIZE:
        raise ReceiptInvalid(f"{what} must be {2 * HASH_SIZE} hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ReceiptInvalid(f"{what} is not hex") from None


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ReceiptInvalid(f"{what} must be a non-negative integer")
    return value


def verify_receipt(
    receipt: Mapping[str, Any], key: VerifierKey, *, entry: bytes | None = None
) -> VerifiedReceipt:
    """Check every part of a receipt; ``entry`` (the logged bytes) binds it to content."""
    if not isinstance(receipt, Mapping):
        raise ReceiptInvalid("a receipt is a JSON object")
    checkpoint_text = receipt.get("checkpoint")
    if not isinstance(checkpoint_text, str):
        raise ReceiptInvalid("the receipt carries no checkpoint note")
    checkpoint = verify_checkpoint(checkpoint_text, key)
    index = _int(receipt.get("logIndex"), "logIndex")
    tree_size = _int(receipt.get("treeSize"), "treeSize")
    leaf = _hex_hash(receipt.get("leafHash"), "leafHash")
    root_text = receipt.get("rootHash")
    try:
        root = base64.b64decode(root_text, validate=True) if isinstance(root_text, str) else b""
    except binascii.Error:
        root = b""
    if tree_size != checkpoint.tree_size or not hmac.compare_digest(root, checkpoint.root_hash):
        raise ReceiptInvalid("the receipt's tree size or root hash differs from its checkpoint")
    if entry is not None and not hmac.compare_digest(leaf_hash(entry), leaf):
        raise ReceiptInvalid("the receipt's leaf hash is not the hash of this entry")
    proof = receipt.get("inclusionProof")
    if not isinstance(proof, list):
        raise ReceiptInvalid("inclusionProof must be a list of hex hashes")
    hashes = [_hex_hash(item, "an inclusion proof hash") for item in proof]
    verify_inclusion(index, tree_size, leaf, hashes, checkpoint.root_hash)
    return VerifiedReceipt(log_index=index, leaf_hash=leaf, checkpoint=checkpoint)
