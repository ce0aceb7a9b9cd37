"""What the hub writes to the transparency log, and the receipts it hands back.

Entries record intent as digests, never inputs: the image digest, the digest of
the signed claim, the model version, the signer's identity and key id; for a
reprint, the original's log index and the SHA-256 of the requested use. No
prompt, prompt hash or image byte ever reaches the log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from registry.hub.errors import HubUnavailable

REGISTRATION = "https://custody.invalid/hub/registration/v1"
REPRINT = "https://custody.invalid/hub/reprint/v1"


class _Entry(Protocol):
    index: int
    leaf_hash: Any
    integrated_time: Any


class _Receipt(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class TransparencyLogLike(Protocol):
    """The part of ``registry.tlog.TransparencyLog`` the hub uses."""

    async def append(self, body: bytes) -> Any: ...

    async def receipt(self, index: int) -> Any: ...

    async def entries(self, start: int, end: int) -> Any: ...


@dataclass(frozen=True, slots=True)
class Logged:
    index: int
    leaf_hash: str
    integrated_time: datetime | int | None
    body: bytes


def entry_body(kind: str, fields: dict[str, Any]) -> bytes:
    """The canonical bytes of one log entry (sorted keys, no spaces, UTF-8)."""
    document = {"type": kind, **fields}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of_json(value: Any) -> str:
    """``sha256:`` of a JSON value's canonical form (what the log holds instead of the value)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class Ledger:
    """The hub's view of the transparency log on ``app.state.tlog``."""

    def __init__(self, log: TransparencyLogLike | None) -> None:
        self._log = log

    def _require(self) -> TransparencyLogLike:
        if self._log is None:
            raise HubUnavailable("the transparency log is not running: nothing can be registered")
        return self._log

    async def append(self, kind: str, fields: dict[str, Any]) -> Logged:
        body = entry_body(kind, fields)
        entry: _Entry = await self._require().append(body)
        leaf = entry.leaf_hash
        leaf_hex = leaf.hex() if isinstance(leaf, bytes | bytearray) else str(leaf)
        return Logged(int(entry.index), leaf_hex, entry.integrated_time, body)

    async def receipt(self, index: int) -> dict[str, Any]:
        receipt: _Receipt = await self._require().receipt(index)
        return receipt.to_json()

    async def entry(self, index: int) -> str:
        """The logged bytes of entry ``index`` (UTF-8 JSON): what its receipt's leaf hash covers."""
        stored = await self._require().entries(index, index + 1)
        body: bytes = stored[0].body
        return body.decode("utf-8")
