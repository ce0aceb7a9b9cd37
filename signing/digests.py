"""``sha256:<hex>`` content digests as a validated value type.

Only sha256: it is what every OCI client computes and what OMS manifests,
ML-BOM bindings and provenance records name. Whoever needs another algorithm
(the loader's blake3) keeps its own parser.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from signing.errors import DigestError

__all__ = ["SHA256_HEX_LENGTH", "Digest", "DigestError"]

SHA256_HEX_LENGTH = 64
_FORM = re.compile(r"^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)\Z")
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_MAX_LENGTH = 256
_READ_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Digest:
    """A validated digest; ``str(d)`` gives ``sha256:<64 lowercase hex>``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse and validate; raise :class:`DigestError` saying what is wrong.

        >>> Digest.parse("sha256:" + "ab" * 32).hex == "ab" * 32
        True
        """
        if len(text) > _MAX_LENGTH:
            raise DigestError(f"digest is longer than {_MAX_LENGTH} characters")
        match = _FORM.fullmatch(text)
        if match is None:
            raise DigestError(f"{text!r} is not of the form algorithm:hex")
        algorithm, encoded = match.group(1), match.group(2)
        if algorithm != "sha256":
            raise DigestError(f"digest algorithm {algorithm!r} is not supported (use sha256)")
        if len(encoded) != SHA256_HEX_LENGTH or not _LOWER_HEX.fullmatch(encoded):
            raise DigestError(f"sha256 digest must be {SHA256_HEX_LENGTH} lowercase hex characters")
        return cls(algorithm, encoded)

    @classmethod
    def of_bytes(cls, data: bytes | memoryview) -> Self:
        """The sha256 digest of ``data``.

        >>> str(Digest.of_bytes(b""))[:15]
        'sha256:e3b0c442'
        """
        return cls("sha256", hashlib.sha256(data).hexdigest())

    @classmethod
    def of_file(cls, path: Path) -> Self:
        """The sha256 digest of a file's bytes, read in 1 MiB pieces."""
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_READ_BYTES):
                hasher.update(chunk)
        return cls("sha256", hasher.hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"
