"""The media and artifact types every Custody package speaks (OCI, Sigstore, CycloneDX, ModelPack).

One spelling per type: the registry stores and filters by these strings, and the
verifier, the CLI and the agent must ask for exactly what the registry keeps.
"""

from __future__ import annotations

__all__ = [
    "CYCLONEDX_JSON",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "IN_TOTO_JSON",
    "MODEL_ARTIFACT",
    "MODEL_CONFIG",
    "MODEL_LAYER_PREFIX",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "SIGSTORE_BUNDLE",
    "SIGSTORE_BUNDLE_PREFIX",
    "SIGSTORE_BUNDLE_TYPES",
    "model_layer",
]

# OCI image spec, and the Docker v2 schema 2 types registries still serve.
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

# CNCF ModelPack (model-spec v1): a model's manifest, config and layers.
MODEL_ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
MODEL_CONFIG = "application/vnd.cncf.model.config.v1+json"
MODEL_LAYER_PREFIX = "application/vnd.cncf.model."

# Sigstore bundles (OpenSSF Model Signing). Older clients spell v0.3 as a parameter;
# both name the same format, and any ``...sigstore.bundle*`` type reads as a bundle.
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SIGSTORE_BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"
SIGSTORE_BUNDLE_TYPES = frozenset(
    {SIGSTORE_BUNDLE, "application/vnd.dev.sigstore.bundle+json;version=0.3"}
)

CYCLONEDX_JSON = "application/vnd.cyclonedx+json"
#: A DSSE envelope's payload type for in-toto statements.
IN_TOTO_JSON = "application/vnd.in-toto+json"


def model_layer(kind: str) -> str:
    """The ModelPack layer type of a raw (uncompressed) ``kind``: weight, doc, code, ..."""
    return f"{MODEL_LAYER_PREFIX}{kind}.v1.raw"
