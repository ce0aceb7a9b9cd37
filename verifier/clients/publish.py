"""Publish a model to a registry: hash once, push as ModelPack, sign, attach, promote.

The code behind ``custody push`` and ``custody publish`` without their command lines, so
that the registry's demo seeding (:mod:`registry.demo.seed`) pushes with exactly the same
code as a user, without the registry importing the ``custody`` command package.

One pass over the model's bytes gives the per-file sha256 manifest that the OMS
signature signs, the ML-BOM describes and the push uploads (only the blobs the
registry lacks; large files in resumable chunks). The signature is attached as
an OCI referrer of the version, exactly as oras or cosign would attach one, so
the registry verifies it the same way whoever pushed it. Re-running after an
interruption resumes: present blobs are skipped, a partly uploaded file
continues where it stopped, and an existing identical version is reused.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from signing.digests import Digest
from signing.hashing import hash_model
from signing.manifest import DEFAULT_IGNORED_PATHS, Manifest, Serialization
from signing.media_types import (
    CYCLONEDX_JSON,
    MODEL_ARTIFACT,
    MODEL_CONFIG,
    OCI_EMPTY,
    OCI_MANIFEST,
    SIGSTORE_BUNDLE,
    model_layer,
)
from signing.sign import sign_manifest
from signing.signers import load_signer
from verifier.clients.push import PushClient
from verifier.clients.registry import FetchError, Progress, RegistryClient

__all__ = [
    "FILEPATH",
    "TITLE",
    "ProgressBar",
    "attach_sbom",
    "build_config",
    "existing_version",
    "layer_media_type",
    "publish_model",
    "push_model",
    "signature_manifest",
]

TITLE = "org.opencontainers.image.title"
FILEPATH = "org.cncf.model.filepath"
_WEIGHTS = (".safetensors", ".onnx", ".gguf", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5")
_DOCS = (".md", ".txt", ".rst", ".pdf")
_CODE = (".py", ".sh", ".ipynb")

#: ``bar(total_bytes, label)``: a context giving the callback each uploaded byte count goes
#: to (the command line draws a progress bar; other callers pass none).
ProgressBar = Callable[[int, str], AbstractContextManager[Progress]]


def layer_media_type(name: str) -> str:
    """The ModelPack layer type for a file, by its name."""
    lowered = name.lower()
    base = PurePosixPath(lowered).name
    if lowered.endswith(_WEIGHTS):
        kind = "weight"
    elif lowered.endswith(_DOCS) or base.startswith(("readme", "license", "licence")):
        kind = "doc"
    elif lowered.endswith(_CODE):
        kind = "code"
    else:
        kind = "weight.config"
    return model_layer(kind)


def _state_dir() -> Path:
    """Where interrupted chunked uploads record their sessions, to resume."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "custody" / "uploads"


def build_config(
    model: str, version: str, formats: list[str], diff_ids: list[str]
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if formats:
        config["format"] = max(set(formats), key=formats.count)
    return {
        "descriptor": {
            "name": model,
            "version": version,
            "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "config": config,
        "modelfs": {"type": "layers", "diffIds": diff_ids},
    }


def existing_version(
    client: RegistryClient, repository: str, version: str, manifest: Manifest
) -> tuple[str, int] | None:
    """The version's (digest, size) if it already holds exactly these files (a re-run).

    Versions are immutable: the same files again are the same version (a re-run of an
    interrupted push, or a push that only attaches an ML-BOM); other files are refused.
    """
    if version not in _tags(client, repository):
        return None
    fetched = client.get_manifest(repository, version)
    layers = {
        (layer.get("annotations", {}).get(TITLE), layer.get("digest"))
        for layer in fetched.json().get("layers", [])
    }
    ours = {(r.name, "sha256:" + r.hex) for r in manifest.resources}
    if layers != ours:
        raise FetchError(
            f"{repository}:{version} already exists with other files; versions are immutable, "
            "push a new version"
        )
    return fetched.digest, len(fetched.body)


def _tags(client: RegistryClient, repository: str) -> list[str]:
    try:
        return client.list_tags(repository)
    except FetchError as exc:
        if exc.status == 404:
            return []  # a new repository
        raise


def _no_bar(_total: int, _label: str) -> AbstractContextManager[Progress]:
    return nullcontext(lambda _n: None)


def push_model(
    client: PushClient,
    model_dir: Path,
    repository: str,
    version: str,
    *,
    progress: ProgressBar | None = None,
    manifest: Manifest | None = None,
) -> dict[str, Any]:
    """Push a model directory (or one file) as a ModelPack artifact; return a summary.

    ``manifest`` is the directory's per-file sha256 manifest when the caller
    already hashed it (``custody publish`` hashes once for signature, SBOM and push).
    """
    manifest = manifest or hash_model(model_dir)
    root = model_dir if model_dir.is_dir() else model_dir.parent
    files = []
    for resource in manifest.resources:
        name = resource.name if model_dir.is_dir() else model_dir.name
        path = root / name
        files.append((name, path, "sha256:" + resource.hex, path.stat().st_size))
    total = sum(f[3] for f in files)
    existing = existing_version(client, repository, version, manifest)
    if existing is not None:
        return {
            "repository": repository,
            "version": version,
            "digest": existing[0],
            "manifest_size": existing[1],
            "files": len(files),
            "bytes": total,
            "uploaded": 0,
            "skipped": len(files),
            "existing": True,
        }
    uploaded = skipped = 0
    layers: list[dict[str, Any]] = []
    with (progress or _no_bar)(total, f"push {repository}:{version}") as advance:
        for name, path, digest, size in files:
            if client.blob_exists(repository, digest):
                skipped += 1
                advance(size)
            else:
                client.upload_blob(
                    repository, path, digest, size, state_dir=_state_dir(), progress=advance
                )
                uploaded += 1
            layers.append(
                {
                    "mediaType": layer_media_type(name),
                    "digest": digest,
                    "size": size,
                    "annotations": {TITLE: name, FILEPATH: name},
                }
            )
    formats = [n.rsplit(".", 1)[-1] for n, *_ in files if n.endswith((".safetensors", ".onnx"))]
    config_bytes = json.dumps(
        build_config(
            repository.split("/")[-1], version, formats, [lay["digest"] for lay in layers]
        ),
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    config_digest = str(Digest.of_bytes(config_bytes))
    if not client.blob_exists(repository, config_digest):
        tmp = _state_dir() / f"config-{config_digest[7:]}.json"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(config_bytes)
        try:
            client.upload_blob(repository, tmp, config_digest, len(config_bytes))
        finally:
            tmp.unlink(missing_ok=True)
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": MODEL_ARTIFACT,
        "config": {"mediaType": MODEL_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": layers,
        "annotations": {"org.opencontainers.image.version": version},
    }
    body = json.dumps(document, separators=(",", ":")).encode()
    digest = client.put_manifest(repository, version, body)
    return {
        "repository": repository,
        "version": version,
        "digest": digest,
        "manifest_size": len(body),
        "existing": False,
        "files": len(files),
        "bytes": total,
        "uploaded": uploaded,
        "skipped": skipped,
    }


def attach_sbom(client: RegistryClient, repository: str, version: str, bom: bytes) -> str:
    """Attach a CycloneDX ML-BOM to a version (the registry validates and binds it)."""
    namespace, model = repository.split("/", 1)
    attached = client.api(
        "POST",
        f"/api/v1/models/{namespace}/{model}/versions/{version}/sbom",
        content=bom,
        headers={"Content-Type": CYCLONEDX_JSON},
    )
    return str(attached["sbom_digest"])


def _push_bytes(client: PushClient, repository: str, data: bytes) -> str:
    digest = str(Digest.of_bytes(data))
    if not client.blob_exists(repository, digest):
        with tempfile.TemporaryDirectory(prefix="custody-publish-") as tmp:
            path = Path(tmp) / "blob"
            path.write_bytes(data)
            client.upload_blob(repository, path, digest, len(data))
    return digest


def signature_manifest(
    bundle_digest: str, bundle_size: int, subject: tuple[str, int], created: datetime
) -> bytes:
    """An OCI referrer carrying one OMS bundle for the version ``subject`` (digest, size)."""
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SIGSTORE_BUNDLE,
        "config": {"mediaType": OCI_EMPTY, "digest": str(Digest.of_bytes(b"{}")), "size": 2},
        "layers": [
            {
                "mediaType": SIGSTORE_BUNDLE,
                "digest": bundle_digest,
                "size": bundle_size,
                "annotations": {TITLE: "model.sig"},
            }
        ],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject[0], "size": subject[1]},
        "annotations": {"org.opencontainers.image.created": created.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def publish_model(
    client: PushClient,
    model_dir: Path,
    repository: str,
    version: str,
    *,
    key: str,
    sbom: bytes | None = None,
    sbom_from_files: bool = False,
    alias: str | None = None,
    progress: ProgressBar | None = None,
) -> dict[str, Any]:
    """Publish ``model_dir`` as ``repository:version``; return a summary."""
    if not model_dir.is_dir():
        raise FetchError(f"{model_dir} is not a model directory")
    signer = load_signer(key)
    manifest = hash_model(model_dir, Serialization().with_ignored(DEFAULT_IGNORED_PATHS))
    bundle = sign_manifest(manifest, signer).to_bytes()
    if sbom_from_files:
        from signing.sbom import BomMetadata, generate_bom

        metadata = BomMetadata(name=repository.split("/")[-1], version=version)
        sbom = generate_bom(model_dir, metadata, manifest=manifest).to_bytes()

    summary = push_model(
        client, model_dir, repository, version, progress=progress, manifest=manifest
    )
    subject = (str(summary["digest"]), int(summary["manifest_size"]))

    bundle_digest = _push_bytes(client, repository, bundle)
    _push_bytes(client, repository, b"{}")
    referrer = signature_manifest(bundle_digest, len(bundle), subject, datetime.now(UTC))
    summary["signature"] = client.put_manifest(repository, str(Digest.of_bytes(referrer)), referrer)
    namespace, model = repository.split("/", 1)
    if sbom is not None:
        summary["sbom"] = attach_sbom(client, repository, version, sbom)
    view = client.api("GET", f"/api/v1/models/{namespace}/{model}/versions/{version}")
    summary["verification"] = [
        {k: s[k] for k in ("signature", "outcome", "signer", "failed_check", "reason")}
        for s in view.get("signatures", [])
        if s["signature"] == summary["signature"]
    ]
    if alias:
        client.api(
            "PUT",
            f"/api/v1/models/{namespace}/{model}/aliases/{alias}",
            json={"version": version},
        )
        summary["alias"] = alias
    return summary
