"""What the hub writes to the transparency log, and the receipts it hands back.

Entries record intent as digests, never inputs: the image digest, the digest of
the signed claim, the model version, the signer's identity and key id; for a
reprint, the original's log index and the SHA-256 of the requested use. No
prompt, prompt hash or image byte ever reaches the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from registry.hub.errors import HubUnavailable
from registry.tlog import LogEntry, NewRow, RowsFor, Withdrawn

REGISTRATION = "https://custody.invalid/hub/registration/v1"
REPRINT = "https://custody.invalid/hub/reprint/v1"


class _Receipt(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class TransparencyLogLike(Protocol):
    """The part of ``registry.tlog.TransparencyLog`` the hub uses."""

    async def append_with_rows(self, body: bytes, rows: RowsFor | None) -> Any: ...

    async def receipt(self, index: int) -> Any: ...

    async def entries(self, start: int, end: int) -> Any: ...

    async def entries_at(self, indexes: Sequence[int]) -> Any: ...


@dataclass(frozen=True, slots=True)
class Logged:
    """An entry as it is (about to be) placed: index, leaf hash (hex), time, exact bytes."""

    index: int
    leaf_hash: str
    integrated_time: datetime
    body: bytes
    #: The receipt against the checkpoint of the entry's own batch, when the log had it.
    receipt: dict[str, Any] | None = None


#: What a ``rows`` callback of :meth:`Ledger.append` returns.
Rows = Sequence[NewRow] | Withdrawn


def entry_body(kind: str, fields: dict[str, Any]) -> bytes:
    """The canonical bytes of one log entry (sorted keys, no spaces, UTF-8)."""
    document = {"type": kind, **fields}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of_json(value: Any) -> str:
    """``sha256:`` of a JSON value's canonical form (what the log holds instead of the value)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class Ledger:
    """The hub's view of the transparency log (``services.tlog``)."""

    def __init__(self, log: TransparencyLogLike | None) -> None:
        self._log = log

    def _require(self) -> TransparencyLogLike:
        if self._log is None:
            raise HubUnavailable("the transparency log is not running: nothing can be registered")
        return self._log

    async def append(
        self, kind: str, fields: dict[str, Any], rows: Callable[[Connection, Logged], Rows]
    ) -> Logged | Withdrawn:
        """Log an entry and commit the rows ``rows`` makes for it in the same transaction;
        or, if ``rows`` returns :class:`Withdrawn`, log nothing and return that. ``rows``
        runs on the log's writer thread, with a synchronous Core connection."""
        body = entry_body(kind, fields)

        def rows_for(connection: Connection, entry: LogEntry) -> Rows:
            return rows(
                connection, Logged(entry.index, entry.leaf_hash.hex(), entry.integrated_time, body)
            )

        outcome: LogEntry | Withdrawn = await self._require().append_with_rows(body, rows_for)
        if isinstance(outcome, Withdrawn):
            return outcome
        receipt = None if outcome.receipt is None else outcome.receipt.to_json()
        return Logged(
            outcome.index, outcome.leaf_hash.hex(), outcome.integrated_time, body, receipt
        )

    async def receipt(self, index: int, logged: Logged | None = None) -> dict[str, Any]:
        """The receipt of entry ``index``: the one ``logged`` came with, if any, else the
        latest checkpoint's."""
        if logged is not None and logged.index == index and logged.receipt is not None:
            return logged.receipt
        receipt: _Receipt = await self._require().receipt(index)
        return receipt.to_json()

    async def bodies(self, indexes: Sequence[int]) -> dict[int, bytes]:
        """The logged bytes of the entries at ``indexes`` (those the log holds)."""
        stored = await self._require().entries_at(indexes)
        return {index: bytes(entry.body) for index, entry in stored.items()}

    async def entry(self, index: int) -> str:
        """The logged bytes of entry ``index`` (UTF-8 JSON): what its receipt's leaf hash covers."""
        stored = await self._require().entries(index, index + 1)
        body: bytes = stored[0].body
        return body.decode("utf-8")
