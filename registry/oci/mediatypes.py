"""Media types the registry understands: OCI, Docker, CNCF ModelPack, signatures, SBOMs."""

from __future__ import annotations

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

IMAGE_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFESTS = IMAGE_MANIFESTS | INDEXES

# CNCF ModelPack (model-spec v1)
MODEL_ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
MODEL_CONFIG = "application/vnd.cncf.model.config.v1+json"
_MODEL_LAYER_PREFIX = "application/vnd.cncf.model."

# Referrer artifact types
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
CYCLONEDX_JSON = "application/vnd.cyclonedx+json"
SIGNATURE_ARTIFACT_TYPES = frozenset(
    {SIGSTORE_BUNDLE, "application/vnd.dev.sigstore.bundle+json;version=0.3"}
)
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
