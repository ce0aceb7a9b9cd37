"""Media types the registry understands: OCI, Docker, CNCF ModelPack, signatures, SBOMs.

The strings live in :mod:`signing.media_types`; this module groups them as the registry routes.
"""

from __future__ import annotations

from signing.media_types import (
    CYCLONEDX_JSON,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    MODEL_ARTIFACT,
    MODEL_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    SIGSTORE_BUNDLE,
)
from signing.media_types import MODEL_LAYER_PREFIX as _MODEL_LAYER_PREFIX
from signing.media_types import SIGSTORE_BUNDLE_TYPES as SIGNATURE_ARTIFACT_TYPES

__all__ = [
    "CYCLONEDX_JSON",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "EVIDENCE_ARTIFACT_TYPES",
    "IMAGE_MANIFESTS",
    "INDEXES",
    "MANIFESTS",
    "MODEL_ARTIFACT",
    "MODEL_CONFIG",
    "MODEL_FILEPATH_ANNOTATION",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "SIGNATURE_ARTIFACT_TYPES",
    "SIGSTORE_BUNDLE",
    "TITLE_ANNOTATION",
    "file_format",
    "layer_kind",
]

IMAGE_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFESTS = IMAGE_MANIFESTS | INDEXES

#: Referrers that are evidence about their subject: kept as long as a version names it.
EVIDENCE_ARTIFACT_TYPES = SIGNATURE_ARTIFACT_TYPES | {CYCLONEDX_JSON}

TITLE_ANNOTATION = "org.opencontainers.image.title"
MODEL_FILEPATH_ANNOTATION = "org.cncf.model.filepath"


def layer_kind(media_type: str) -> str | None:
    """ModelPack layer kind (weight, weight.config, doc, code, dataset), or None."""
    if not media_type.startswith(_MODEL_LAYER_PREFIX):
        return None
    rest = media_type[len(_MODEL_LAYER_PREFIX) :]
    kind, _, _ = rest.partition(".v1.")
    return kind or None


def file_format(title: str | None) -> str | None:
    """The model file format by name: safetensors, onnx, or None."""
    if title is None:
        return None
    lowered = title.lower()
    if lowered.endswith(".safetensors"):
        return "safetensors"
    if lowered.endswith(".onnx"):
        return "onnx"
    if lowered.endswith(".json"):
        return "json"
    return None
