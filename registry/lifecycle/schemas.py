"""Response and request bodies of the model lifecycle API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class FileView(msgspec.Struct):
    name: str | None
    digest: str
    size: int
    media_type: str
    #: ModelPack layer kind: weight, weight.config, doc, code, dataset (None if not ModelPack).
    kind: str | None
    #: safetensors, onnx, json, or None.
    format: str | None


class ReferrerView(msgspec.Struct):
    digest: str
    artifact_type: str | None
    #: signature, sbom or other.
    kind: str
    created_at: datetime


class SignatureCounts(msgspec.Struct):
    """The registry's stored verdicts on a version's signatures, counted."""

    verified: int = 0
    failed: int = 0
    #: Who signed the verified ones: the trust policy's name for the signer, else the signer.
    signers: list[str] = msgspec.field(default_factory=list)


class VersionSummary(msgspec.Struct):
    version: str
    digest: str
    created_at: datetime
    size: int
    signatures: SignatureCounts = msgspec.field(default_factory=SignatureCounts)


class SignatureView(msgspec.Struct):
    """The registry's verdict on one signature of a version."""

    signature: str
    bundle_digest: str
    outcome: str
    signer: str | None
    trusted_as: str | None
    failed_check: str | None
    reason: str
    policy_digest: str
    verified_at: datetime
    #: False when the verdict was reached under a trust policy no longer in force.
    current: bool


class VersionView(msgspec.Struct):
    model: str
    version: str
    digest: str
    media_type: str
    artifact_type: str | None
    created_at: datetime
    pushed_by: str
    files: list[FileView]
    referrers: list[ReferrerView]
    aliases: list[str]
    #: The ModelPack config document, when the version is a ModelPack artifact.
    config: dict[str, Any] | None
    #: The latest bound SBOM: its digest, spec version, binding and index.
    sbom: dict[str, Any] | None = None
    #: One verdict per signature referrer, oldest first.
    signatures: list[SignatureView] = msgspec.field(default_factory=list)


class AliasView(msgspec.Struct):
    alias: str
    digest: str
    versions: list[str]
    updated_at: datetime
    updated_by: str


class ModelSummary(msgspec.Struct):
    name: str
    namespace: str
    created_at: datetime
    versions: int
    aliases: dict[str, str]
    latest_version: str | None


class ModelView(msgspec.Struct):
    name: str
    namespace: str
    created_at: datetime
    versions: list[VersionSummary]
    aliases: list[AliasView]


class Page(msgspec.Struct):
    total: int
    limit: int
    offset: int


class ModelList(msgspec.Struct):
    models: list[ModelSummary]
    page: Page


class VersionList(msgspec.Struct):
    versions: list[VersionSummary]
    page: Page


class AliasMoveRequest(msgspec.Struct, forbid_unknown_fields=True):
    #: The version to point at ...
    version: str | None = None
    #: ... or a manifest digest.
    digest: str | None = None


class AliasMoveResult(msgspec.Struct):
    model: str
    alias: str
    previous: str | None
    current: str
