"""What the log hands back: entries, proofs, checkpoints and receipts (plain values)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class LogEntry:
    """An appended entry: its position, leaf hash and the time its batch committed.

    ``receipt`` is its receipt against the checkpoint its own batch signed, when the
    writer could build it from the nodes it had in hand (else ask ``receipt()``).
    """

    index: int
    leaf_hash: bytes
    integrated_time: datetime
    receipt: Receipt | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    index: int
    leaf_hash: bytes
    body: bytes
    integrated_time: datetime


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint the log signed when a batch committed (or the empty tree's)."""

    tree_size: int
    root_hash: bytes
    note: str


@dataclass(frozen=True, slots=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    hashes: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first: int
    second: int
    hashes: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class Receipt:
    """A signed checkpoint covering an entry, plus the entry's inclusion proof against it."""

    index: int
    leaf_hash: bytes
    checkpoint: SignedCheckpoint
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """The receipt as the hub returns it; ``verifier.transparency.verify_receipt`` checks it."""
        return {
            "logIndex": self.index,
            "leafHash": self.leaf_hash.hex(),
            "treeSize": self.checkpoint.tree_size,
            "rootHash": base64.b64encode(self.checkpoint.root_hash).decode(),
            "inclusionProof": [h.hex() for h in self.hashes],
            "checkpoint": self.checkpoint.note,
        }
