"""OCI content digests (``algorithm:hex``) as a validated value type.

Only ``sha256`` is accepted for content the registry stores: it is what every
OCI client computes, and accepting an algorithm we do not verify would let a
client name content we cannot check. The rules are :mod:`signing.digests`';
this subclass only answers a bad digest with the registry's ``DIGEST_INVALID``.
"""

from __future__ import annotations

from typing import Self

from registry.errors import DigestInvalid
from signing.digests import Digest as _SharedDigest
from signing.errors import DigestError


class Digest(_SharedDigest):
    """A validated digest; ``str(d)`` gives ``sha256:<64 lowercase hex>``."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse and validate; raise :class:`DigestInvalid` saying what is wrong."""
        try:
            return super().parse(text)
        except DigestError as exc:
            raise DigestInvalid(str(exc)) from None
