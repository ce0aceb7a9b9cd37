"""What the log-entry page shows: one entry, its inclusion proof against the latest signed
checkpoint, and whether that proof verifies.

The entry and the proof come from the log service the JSON API reads
(:meth:`registry.tlog.TransparencyLog.entries` and ``receipt``, the checkpoint and proof
of ``GET /api/v1/log/checkpoint`` and ``/proof/inclusion``, read in one transaction so
they belong together). The verdict is :func:`verifier.transparency.verify_receipt`, the
code an auditor runs offline, with the log's own verifier key and the entry's bytes: the
page says what anyone re-checking the JSON endpoints would find.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.errors import BadRequest, NotFound
from registry.hub.ledger import REGISTRATION, REPRINT
from registry.tlog import TransparencyLog
from verifier.transparency import LogError, VerifierKey, verify_receipt

__all__ = ["LogEntryPage", "log_entry_page", "parse_index"]

#: A log index as typed in a path: decimal digits, no sign, below 2**63 (checked after).
_INDEX = re.compile(r"[0-9]{1,19}\Z")
_KINDS = {REGISTRATION: "registration", REPRINT: "reprint"}


def parse_index(text: str) -> int:
    """A path's log index, or :class:`BadRequest` (never a 500) for anything else."""
    if not _INDEX.match(text) or int(text) >= 2**63:
        raise BadRequest("a log index is a whole number from 0 to 2^63 - 1")
    return int(text)


@dataclass(frozen=True, slots=True)
class LogEntryPage:
    index: int
    #: ``registration``, ``reprint``, or the entry's own type when the hub did not write it.
    kind: str
    kind_uri: str | None
    #: The image the entry is about (``None`` if the body names none).
    subject: str | None
    #: A reprint's original: its image digest and log index.
    original: str | None
    original_index: int | None
    integrated_time: datetime
    leaf_hash: str
    body: str
    tree_size: int
    root_hex: str
    root_base64: str
    #: The checkpoint note as signed, and its text and signature lines apart.
    note: str
    note_text: str
    note_signatures: list[str]
    verifier_key: str
    #: The audit path, leaf side first (hex).
    hashes: list[str]
    verified: bool
    #: The check that failed (:attr:`verifier.transparency.LogError.check`) and why.
    failed_check: str | None
    failure: str | None


def _document(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def log_entry_page(tlog: TransparencyLog, index: int) -> LogEntryPage:
    """Entry ``index`` with its receipt against the latest checkpoint (404 if not logged)."""
    latest = await tlog.checkpoint()
    if index >= latest.tree_size:
        raise NotFound(f"the log has no entry {index} (it holds {latest.tree_size})")
    (entry,) = await tlog.entries(index, index + 1)
    receipt = await tlog.receipt(index)
    document = _document(entry.body)
    kind_uri = _text(document.get("type"))
    original_index = document.get("originalLogIndex")
    failed_check = failure = None
    try:
        verify_receipt(receipt.to_json(), VerifierKey.parse(tlog.verifier_key), entry=entry.body)
    except LogError as exc:
        failed_check, failure = exc.check, str(exc)
    note = receipt.checkpoint.note
    cut = note.rfind("\n\n")
    return LogEntryPage(
        index=index,
        kind=_KINDS.get(kind_uri or "", kind_uri or "unknown"),
        kind_uri=kind_uri,
        subject=_text(document.get("image")),
        original=_text(document.get("original")),
        original_index=original_index if type(original_index) is int else None,
        integrated_time=entry.integrated_time,
        leaf_hash=entry.leaf_hash.hex(),
        body=entry.body.decode("utf-8", errors="replace"),
        tree_size=receipt.checkpoint.tree_size,
        root_hex=receipt.checkpoint.root_hash.hex(),
        root_base64=base64.b64encode(receipt.checkpoint.root_hash).decode(),
        note=note,
        note_text=note[: cut + 1],
        note_signatures=note[cut + 2 :].splitlines(),
        verifier_key=tlog.verifier_key,
        hashes=[h.hex() for h in receipt.hashes],
        verified=failure is None,
        failed_check=failed_check,
        failure=failure,
    )
