"""OCI image layouts on disk (image-spec ``image-layout.md``), for clients that copy from them.

:func:`write_layout` lays out one manifest, its config and its layers under a tag, as
``skopeo copy oci:DIR:TAG`` reads it, and :func:`write_index` an image index over such
manifests; :func:`read_layout` reads either back by tag, so a test can compare what a
client pulled with what it pushed, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from signing.media_types import OCI_INDEX, OCI_MANIFEST

REF_NAME = "org.opencontainers.image.ref.name"
TITLE = "org.opencontainers.image.title"


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes
    title: str | None = None

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self) -> dict[str, object]:
        described: dict[str, object] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.data),
        }
        if self.title is not None:
            described["annotations"] = {TITLE: self.title}
        return described


@dataclass(frozen=True)
class Layout:
    """One tagged manifest of a layout: its exact bytes and every blob it names."""

    path: Path
    tag: str
    manifest: bytes
    blobs: dict[str, bytes]  # digest -> bytes, config and layers

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.manifest).hexdigest()

    @property
    def reference(self) -> str:
        return f"oci:{self.path}:{self.tag}"


def _blob_path(root: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return root / "blobs" / algorithm / hexdigest


def _store(root: Path, blobs: list[Blob]) -> None:
    for blob in blobs:
        path = _blob_path(root, blob.digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob.data)


def _tag(root: Path, tag: str, top: Blob) -> None:
    """Name ``top`` ``tag`` in the layout's ``index.json``, keeping its other names."""
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index_file = root / "index.json"
    named = json.loads(index_file.read_text())["manifests"] if index_file.exists() else []
    named = [entry for entry in named if entry.get("annotations", {}).get(REF_NAME) != tag]
    named.append({**top.descriptor(), "annotations": {REF_NAME: tag}})
    index_file.write_text(json.dumps({"schemaVersion": 2, "manifests": named}))


def write_layout(
    root: Path,
    tag: str,
    config: Blob,
    layers: list[Blob],
    artifact_type: str | None = None,
) -> Layout:
    manifest_json: dict[str, object] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
    if artifact_type is not None:
        manifest_json["artifactType"] = artifact_type
    manifest_json["config"] = config.descriptor()
    manifest_json["layers"] = [layer.descriptor() for layer in layers]
    manifest = Blob(OCI_MANIFEST, json.dumps(manifest_json, indent=2).encode())
    _store(root, [config, *layers, manifest])
    _tag(root, tag, manifest)
    blobs = {blob.digest: blob.data for blob in (config, *layers)}
    return Layout(root, tag, manifest.data, blobs)


def write_index(root: Path, tag: str, children: dict[str, Layout]) -> Layout:
    """An image index over ``children`` (written to ``root`` already), keyed by architecture.

    Its ``blobs`` are everything it reaches: each child manifest and the child's blobs.
    """
    described = [
        {
            **Blob(OCI_MANIFEST, child.manifest).descriptor(),
            "platform": {"architecture": architecture, "os": "linux"},
        }
        for architecture, child in children.items()
    ]
    index_json = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": described}
    index = Blob(OCI_INDEX, json.dumps(index_json).encode())
    _store(root, [index])
    _tag(root, tag, index)
    blobs: dict[str, bytes] = {}
    for child in children.values():
        blobs[child.digest] = child.manifest
        blobs.update(child.blobs)
    return Layout(root, tag, index.data, blobs)


def read_layout(root: Path, tag: str) -> Layout:
    """The manifest or index tagged ``tag`` in the layout at ``root``, with all it reaches.

    Every blob is read from its content-addressed file and its digest checked, so a layout
    a client left half-written or wrong fails here, not in a comparison further on.
    """
    index = json.loads((root / "index.json").read_text())
    (described,) = [
        entry for entry in index["manifests"] if entry.get("annotations", {}).get(REF_NAME) == tag
    ]
    top = _read_blob(root, described["digest"])
    return Layout(root, tag, top, _reachable(root, top))


def _reachable(root: Path, manifest: bytes) -> dict[str, bytes]:
    parsed = json.loads(manifest)
    if parsed.get("mediaType") == OCI_INDEX:
        blobs: dict[str, bytes] = {}
        for child in parsed["manifests"]:
            data = _read_blob(root, child["digest"])
            blobs[child["digest"]] = data
            blobs.update(_reachable(root, data))
        return blobs
    named = [parsed["config"], *parsed["layers"]]
    return {entry["digest"]: _read_blob(root, entry["digest"]) for entry in named}


def _read_blob(root: Path, digest: str) -> bytes:
    data = _blob_path(root, digest).read_bytes()
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise AssertionError(f"{root}: blob {digest} holds {actual}")
    return data
