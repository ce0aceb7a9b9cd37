"""The SBOM API's request and response bodies."""

from __future__ import annotations

from typing import Any

import msgspec


class SbomAttached(msgspec.Struct):
    model: str
    version: str
    sbom_digest: str
    referrer_digest: str
    spec_version: str
    binding: str
    summary: dict[str, Any]


class VersionHit(msgspec.Struct):
    model: str
    version: str
    digest: str
    #: ``None`` for a version without an SBOM (found by its signer alone).
    sbom_digest: str | None


class VersionSearch(msgspec.Struct):
    versions: list[VersionHit]
    total: int
