"""Offline verification of the Custody transparency log (RFC 9162, C2SP).

Pure functions over bytes: Merkle inclusion and consistency proofs, C2SP signed
notes and checkpoints, receipts returned by the hub, and the auditor behind
``custody log verify``. Nothing here imports the registry: an auditor checks
the hub with code that is not the hub's.

Example::

    >>> from verifier.transparency import leaf_hash, node_hash, verify_inclusion
    >>> a, b = leaf_hash(b"first"), leaf_hash(b"second")
    >>> verify_inclusion(1, 2, b, [a], node_hash(a, b))
"""

from verifier.transparency._checkpoint import Checkpoint, parse_checkpoint, verify_checkpoint
from verifier.transparency._merkle import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from verifier.transparency._receipt import VerifiedReceipt, verify_receipt
from verifier.transparency.errors import (
    CheckpointInvalid,
    CheckpointSignatureInvalid,
    ConsistencyProofInvalid,
    InclusionProofInvalid,
    LogError,
    LogFetchError,
    LogRollback,
    ReceiptInvalid,
    VerifierKeyInvalid,
)
from verifier.transparency.note import SignedNote, VerifierKey, key_id, open_note

__all__ = [
    "EMPTY_ROOT",
    "Checkpoint",
    "CheckpointInvalid",
    "CheckpointSignatureInvalid",
    "ConsistencyProofInvalid",
    "InclusionProofInvalid",
    "LogError",
    "LogFetchError",
    "LogRollback",
    "ReceiptInvalid",
    "SignedNote",
    "VerifiedReceipt",
    "VerifierKey",
    "VerifierKeyInvalid",
    "key_id",
    "leaf_hash",
    "node_hash",
    "open_note",
    "parse_checkpoint",
    "root_from_inclusion_proof",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_receipt",
]
