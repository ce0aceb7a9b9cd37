"""OCI content digests (``algorithm:hex``) as a validated value type.

Only ``sha256`` is accepted for content the registry stores: it is what every
OCI client computes, and accepting an algorithm we do not verify would let a
client name content we cannot check.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from registry.errors import DigestInvalid

_HEX = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)\Z")
SUPPORTED_ALGORITHMS = frozenset({"sha256"})


@dataclass(frozen=True, slots=True)
class Digest:
    """A validated digest; ``str(d)`` gives ``sha256:<64 lowercase hex>``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse and validate; raise :class:`DigestInvalid` saying what is wrong."""
        if len(text) > 256:
            raise DigestInvalid("digest is longer than 256 characters")
        match = _DIGEST_RE.fullmatch(text)
        if match is None:
            raise DigestInvalid(f"{text!r} is not of the form algorithm:hex")
        algorithm, encoded = match.group(1), match.group(2)
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise DigestInvalid(f"digest algorithm {algorithm!r} is not supported (use sha256)")
        expected = _HEX[algorithm]
        if len(encoded) != expected or not re.fullmatch(r"[0-9a-f]+", encoded):
            raise DigestInvalid(f"{algorithm} digest must be {expected} lowercase hex characters")
        return cls(algorithm, encoded)

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        """The sha256 digest of ``data``."""
        return cls("sha256", hashlib.sha256(data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"
