"""A small HTTP client for ``/api/v1/log/``: fetches, never trusts.

Everything it returns is checked by the caller with the proofs; this module
only turns HTTP into typed values, and every failure to do so (network, HTTP
status, malformed JSON) into :class:`LogFetchError`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import httpx

from verifier.transparency.errors import LogFetchError
from verifier.transparency.note import MAX_NOTE_BYTES

__all__ = ["FetchedEntry", "LogClient"]

_MAX_JSON_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FetchedEntry:
    index: int
    leaf_hash: bytes
    body: bytes


def _hash(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise LogFetchError("the log answered with a malformed hash")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise LogFetchError("the log answered with a malformed hash") from None


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LogFetchError("the log answered with a malformed number")
    return value


class LogClient:
    """Reads a Custody transparency log at ``base_url`` (the hub's address)."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LogClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _get(self, path: str, params: dict[str, Any] | None, limit: int) -> bytes:
        url = f"{self.base_url}/api/v1/log/{path}"
        try:
            with self._http.stream("GET", url, params=params) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise LogFetchError(f"{url}: answer larger than {limit} bytes")
                if response.status_code != 200:
                    detail = bytes(body[:300]).decode("utf-8", "replace")
                    raise LogFetchError(f"{url}: HTTP {response.status_code}: {detail}")
                return bytes(body)
        except httpx.HTTPError as exc:
            raise LogFetchError(f"{url}: {type(exc).__name__}: {exc}") from exc

    def _json(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        raw = self._get(path, params, _MAX_JSON_BYTES)
        try:
            document = json.loads(raw)
        except ValueError:
            raise LogFetchError(f"{path}: the log's answer is not JSON") from None
        if not isinstance(document, dict):
            raise LogFetchError(f"{path}: the log's answer is not a JSON object")
        return document

    def checkpoint(self) -> bytes:
        """The latest signed checkpoint, as raw bytes (verify before use)."""
        return self._get("checkpoint", None, MAX_NOTE_BYTES)

    def inclusion_proof(self, index: int, tree_size: int) -> tuple[bytes, list[bytes]]:
        """The served leaf hash of ``index`` and its proof for ``tree_size``."""
        document = self._json("proof/inclusion", {"index": index, "tree_size": tree_size})
        proof = document.get("inclusionProof")
        if not isinstance(proof, list):
            raise LogFetchError("inclusion proof: no inclusionProof list")
        if _int(document.get("logIndex")) != index or _int(document.get("treeSize")) != tree_size:
            raise LogFetchError("inclusion proof: the log answered for another entry or size")
        return _hash(document.get("leafHash")), [_hash(h) for h in proof]

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        document = self._json("proof/consistency", {"first": first, "second": second})
        proof = document.get("consistencyProof")
        if not isinstance(proof, list):
            raise LogFetchError("consistency proof: no consistencyProof list")
        return [_hash(h) for h in proof]

    def entries(self, start: int, end: int) -> list[FetchedEntry]:
        document = self._json("entries", {"start": start, "end": end})
        items = document.get("entries")
        if not isinstance(items, list):
            raise LogFetchError("entries: no entries list")
        fetched = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("body"), str):
                raise LogFetchError("entries: malformed entry")
            try:
                body = base64.b64decode(item["body"], validate=True)
            except binascii.Error:
                raise LogFetchError("entries: an entry body is not base64") from None
            fetched.append(
                FetchedEntry(_int(item.get("logIndex")), _hash(item.get("leafHash")), body)
            )
        return fetched
