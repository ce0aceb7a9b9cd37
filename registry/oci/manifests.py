"""Parsing and validation of manifest bodies (pure: no database, no I/O).

The registry stores the exact bytes it receives; this module only reads them
to check they are a manifest it can serve, and to extract the descriptors it
indexes (config, layers with their file titles, child manifests, subject).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from registry.digests import Digest
from registry.errors import DigestInvalid, ManifestInvalid
from registry.http.params import MAX_INT64
from registry.http.text import check_document
from registry.oci import mediatypes as mt


@dataclass(frozen=True, slots=True)
class Descriptor:
    role: str  # config, layer, manifest, subject
    media_type: str
    digest: str
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        return self.annotations.get(mt.TITLE_ANNOTATION) or self.annotations.get(
            mt.MODEL_FILEPATH_ANNOTATION
        )


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    media_type: str
    artifact_type: str | None
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    annotations: dict[str, str]

    @property
    def references(self) -> tuple[Descriptor, ...]:
        """Everything the manifest points at and that must exist first."""
        config = (self.config,) if self.config is not None else ()
        return config + self.layers + self.manifests


def parse_manifest(body: bytes, content_type: str | None) -> ParsedManifest:
    """Validate ``body`` as an OCI/Docker manifest or index; raise MANIFEST_INVALID."""
    try:
        document = json.loads(body)
    except RecursionError:
        raise ManifestInvalid("manifest JSON is nested too deeply") from None
    except ValueError as exc:  # invalid UTF-8 or JSON, an integer of thousands of digits
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from None
    check_document(document, "the manifest", ManifestInvalid)
    if not isinstance(document, dict):
        raise ManifestInvalid("manifest must be a JSON object")
    if document.get("schemaVersion") != 2:
        raise ManifestInvalid(
            f"unsupported schemaVersion {document.get('schemaVersion')!r}: only 2 is supported"
        )
    declared = document.get("mediaType")
    header = (content_type or "").split(";")[0].strip() or None
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    if declared and header and declared != header:
        raise ManifestInvalid(
            f"mediaType {declared!r} in the body does not match Content-Type {header!r}"
        )
    media_type = declared or header
    if media_type is None:
        media_type = mt.OCI_INDEX if "manifests" in document else mt.OCI_MANIFEST
    if media_type not in mt.MANIFESTS:
        raise ManifestInvalid(f"unsupported manifest media type {media_type!r}")

    subject = _descriptor(document["subject"], "subject") if "subject" in document else None
    annotations = _annotations(document.get("annotations"), "manifest")
    artifact_type = _optional_str(document.get("artifactType"), "artifactType")

    if media_type in mt.IMAGE_MANIFESTS:
        if "config" not in document:
            raise ManifestInvalid("an image manifest needs a config descriptor")
        config = _descriptor(document["config"], "config")
        layers = _descriptor_list(document.get("layers", []), "layer")
        return ParsedManifest(
            media_type=media_type,
            artifact_type=artifact_type or config.media_type,
            config=config,
            layers=layers,
            manifests=(),
            subject=subject,
            annotations=annotations,
        )
    manifests = _descriptor_list(document.get("manifests", []), "manifest")
    return ParsedManifest(
        media_type=media_type,
        artifact_type=artifact_type,
        config=None,
        layers=(),
        manifests=manifests,
        subject=subject,
        annotations=annotations,
    )


def _descriptor_list(value: Any, role: str) -> tuple[Descriptor, ...]:
    if not isinstance(value, list):
        raise ManifestInvalid(f"{role}s must be a list of descriptors")
    return tuple(_descriptor(item, role) for item in value)


def _descriptor(value: Any, role: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{role} descriptor must be an object")
    media_type = value.get("mediaType")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{role} descriptor needs a mediaType")
    digest_text = value.get("digest")
    if not isinstance(digest_text, str):
        raise ManifestInvalid(f"{role} descriptor needs a digest")
    try:
        digest = Digest.parse(digest_text)
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{role} descriptor digest: {exc.detail}") from None
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_INT64:
        raise ManifestInvalid(f"{role} descriptor {digest} needs an integer size from 0 to 2^63-1")
    return Descriptor(
        role=role,
        media_type=media_type,
        digest=str(digest),
        size=size,
        artifact_type=_optional_str(value.get("artifactType"), f"{role} artifactType"),
        annotations=_annotations(value.get("annotations"), role),
    )


def _annotations(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ManifestInvalid(f"{where} annotations must map strings to strings")
    return dict(value)


def _optional_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ManifestInvalid(f"{where} must be a string")
    return value
