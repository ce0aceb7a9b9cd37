"""The transparency log: RFC 9162 Merkle tree in SQL, C2SP checkpoints, proofs.

``create_app`` puts a :class:`TransparencyLog` in the app's services (``services.tlog``); the hub
appends what it registers and hands out receipts, and ``/api/v1/log/`` serves
checkpoints, proofs and entries to anyone (it is a public log).

Example (inside the app)::

    entry = await services.tlog.append(canonical_json_bytes)
    receipt = (await services.tlog.receipt(entry.index)).to_json()
"""

from registry.tlog.errors import (
    EntryInvalid,
    EntryRangeInvalid,
    EntryTooLarge,
    LeafHashUnknown,
    LeafIndexOutOfRange,
    LogCorrupted,
    LogKeyInvalid,
    LogRequestInvalid,
    LogUnavailable,
    TreeSizeOutOfRange,
)
from registry.tlog.log import MAX_ENTRIES_PER_PAGE, NewRow, RowsFor, TransparencyLog, Withdrawn
from registry.tlog.records import (
    ConsistencyProof,
    InclusionProof,
    LogEntry,
    Receipt,
    SignedCheckpoint,
    StoredEntry,
)
from registry.tlog.signer import LogSigner, load_or_create_signer

__all__ = [
    "MAX_ENTRIES_PER_PAGE",
    "ConsistencyProof",
    "EntryInvalid",
    "EntryRangeInvalid",
    "EntryTooLarge",
    "InclusionProof",
    "LeafHashUnknown",
    "LeafIndexOutOfRange",
    "LogCorrupted",
    "LogEntry",
    "LogKeyInvalid",
    "LogRequestInvalid",
    "LogSigner",
    "LogUnavailable",
    "NewRow",
    "Receipt",
    "RowsFor",
    "SignedCheckpoint",
    "StoredEntry",
    "TransparencyLog",
    "TreeSizeOutOfRange",
    "Withdrawn",
    "load_or_create_signer",
]
