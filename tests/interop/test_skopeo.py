"""Debian's ``skopeo`` against a live Custody registry with its blobs on disk, on both engines.

skopeo pushes from an OCI layout (a ModelPack artifact holding an ONNX model, a plain
container image, a two-platform index with ``--all``), reads the manifest back with
``inspect --raw`` and pulls it into an ``oci:`` and a ``dir:`` layout: the same manifest
bytes, digests and blobs come back. It authenticates as it does anywhere: Basic with the
Custody token at the token endpoint, asking ``pull,push`` (or ``*`` to delete), then
Bearer. The registry's rules reach it as readable refusals: rights, admission, invalid
models, immutable versions, aliases.
The same pulls through presigned S3 redirects: ``test_skopeo_s3_redirects.py``.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from signing.media_types import MODEL_ARTIFACT, MODEL_CONFIG, model_layer
from tests.interop.conftest import LiveRegistry
from tests.support.oci_layout import Blob, Layout, read_layout, write_index, write_layout
from tests.support.skopeo import Skopeo, asking, model_layout, reading, skopeo_binary, writing
from tests.support.tokens import issue


@pytest.fixture(scope="module")
def skopeo(tmp_path_factory: pytest.TempPathFactory) -> Skopeo:
    return Skopeo.in_dir(skopeo_binary(), tmp_path_factory.mktemp("skopeo"))


def _token(live: LiveRegistry, scopes: str, namespace: str = "acme") -> str:
    return issue(live.database_url, namespace, scopes).secret


def _image_layout(root: Path, tag: str, architecture: str = "amd64") -> Layout:
    """A plain container image: an image config and one gzipped tar layer."""
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        data = f"print('hello from {architecture}')\n".encode() * 1000
        member = tarfile.TarInfo("app/main.py")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    layer = gzip.compress(tar.getvalue(), mtime=0)
    diff_id = Blob("", tar.getvalue()).digest
    config = {
        "architecture": architecture,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    return write_layout(
        root,
        tag,
        Blob("application/vnd.oci.image.config.v1+json", json.dumps(config).encode()),
        [Blob("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
    )


@pytest.mark.parametrize("kind", ["model", "image"])
def test_push_inspect_and_pull_back_byte_equal(
    skopeo: Skopeo, live_registry: LiveRegistry, tmp_path: Path, kind: str
) -> None:
    token = _token(live_registry, "pull,push")
    source = (model_layout if kind == "model" else _image_layout)(tmp_path / "src", "1.0.0")
    repository = f"docker://{live_registry.host}/acme/skopeo-{kind}"
    remote = f"{repository}:1.0.0"

    skopeo.ok("copy", *writing(token), source.reference, remote)
    # Pushing the same manifest again is allowed: the version already is exactly that.
    skopeo.ok("copy", *writing(token), source.reference, remote)

    assert skopeo.ok("inspect", "--raw", *asking(token), remote).stdout.encode() == (
        source.manifest
    )
    config = json.loads(source.manifest)["config"]["digest"]
    raw_config = skopeo.ok("inspect", "--config", "--raw", *asking(token), remote).stdout
    assert raw_config.encode() == source.blobs[config]
    listed = skopeo.ok("list-tags", *asking(token), repository).stdout
    assert json.loads(listed)["Tags"] == ["1.0.0"]

    skopeo.ok("copy", *reading(token), remote, f"oci:{tmp_path / 'oci'}:1.0.0")
    pulled = read_layout(tmp_path / "oci", "1.0.0")  # every blob's digest checked
    assert pulled.manifest == source.manifest
    assert pulled.blobs == source.blobs

    skopeo.ok("copy", *reading(token), remote, f"dir:{tmp_path / 'dir'}")
    assert (tmp_path / "dir" / "manifest.json").read_bytes() == source.manifest
    for digest, data in source.blobs.items():
        assert (tmp_path / "dir" / digest.removeprefix("sha256:")).read_bytes() == data

    if kind == "image":  # skopeo reads an image's config; it refuses to for an artifact
        inspected = json.loads(skopeo.ok("inspect", *asking(token), remote).stdout)
        assert inspected["Digest"] == source.digest
        layers = json.loads(source.manifest)["layers"]
        assert inspected["Layers"] == [layer["digest"] for layer in layers]
    else:  # the registry took skopeo's push for a model version like any other
        view = httpx.get(
            f"{live_registry.base}/api/v1/models/acme/skopeo-model/versions/1.0.0",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert view["digest"] == source.digest
        assert view["artifact_type"] == MODEL_ARTIFACT
        files = sorted((f["name"], f["format"]) for f in view["files"])
        assert files == [("config.json", "json"), ("model.onnx", "onnx")]


def test_copy_all_of_a_multi_platform_index(
    skopeo: Skopeo, live_registry: LiveRegistry, tmp_path: Path
) -> None:
    token = _token(live_registry, "pull,push")
    children = {arch: _image_layout(tmp_path / "src", arch, arch) for arch in ("amd64", "arm64")}
    source = write_index(tmp_path / "src", "multi", children)
    remote = f"docker://{live_registry.host}/acme/skopeo-index:1.0.0"

    skopeo.ok("copy", "--all", *writing(token), source.reference, remote)
    assert skopeo.ok("inspect", "--raw", *asking(token), remote).stdout.encode() == (
        source.manifest
    )
    skopeo.ok("copy", "--all", *reading(token), remote, f"oci:{tmp_path / 'all'}:1.0.0")
    pulled = read_layout(tmp_path / "all", "1.0.0")
    assert pulled.manifest == source.manifest
    assert pulled.blobs == source.blobs  # both child manifests and all their blobs

    # Without --all skopeo resolves the index to the one platform asked for.
    one = ("--override-arch", "arm64", "--override-os", "linux")
    skopeo.ok("copy", *one, *reading(token), remote, f"oci:{tmp_path / 'arm64'}:1.0.0")
    assert read_layout(tmp_path / "arm64", "1.0.0") == Layout(
        tmp_path / "arm64", "1.0.0", children["arm64"].manifest, children["arm64"].blobs
    )


def _refused(skopeo: Skopeo, source: Layout, remote: str, token: str) -> str:
    done = skopeo.run("copy", *writing(token), source.reference, remote)
    assert done.returncode != 0, done.stdout
    return done.stderr


def _model(root: Path, data: bytes, title: str) -> Layout:
    layers = [Blob(model_layer("weight"), data, title)]
    return write_layout(root, "1.0.0", Blob(MODEL_CONFIG, b"{}"), layers, MODEL_ARTIFACT)


def test_the_registrys_refusals_reach_skopeo(
    skopeo: Skopeo, live_registry: LiveRegistry, tmp_path: Path
) -> None:
    remote = f"docker://{live_registry.host}/acme/refusals:1.0.0"
    writer = _token(live_registry, "pull,push")
    good = model_layout(tmp_path / "good", "1.0.0")

    reader = _token(live_registry, "pull")
    assert "does not grant push" in _refused(skopeo, good, remote, reader)
    not_onnx = _model(tmp_path / "not-onnx", b"not a model at all", "model.onnx")
    assert "manifest invalid: model.onnx: is not an ONNX protobuf" in (
        _refused(skopeo, not_onnx, remote, writer)
    )
    pickled = _model(tmp_path / "pickled", b"\x80\x04K\x01.", "model.pt")
    assert "file 'model.pt' has format 'pickle'" in _refused(skopeo, pickled, remote, writer)

    skopeo.ok("copy", *writing(writer), good.reference, remote)
    other = model_layout(tmp_path / "other", "1.0.0")  # fresh random weights
    assert "versions are immutable" in _refused(skopeo, other, remote, writer)
    assert skopeo.ok("inspect", "--raw", *asking(writer), remote).stdout.encode() == (good.manifest)


def test_delete_follows_the_alias_and_version_rules(
    skopeo: Skopeo, live_registry: LiveRegistry, tmp_path: Path
) -> None:
    """skopeo asks ``*``; pull and push grant delete, an alias also needs promote (ADR 0004)."""
    source = model_layout(tmp_path / "src", "1.0.0")
    repository = f"docker://{live_registry.host}/acme/skopeo-deletes"
    writer = _token(live_registry, "pull,push")
    promoter = _token(live_registry, "pull,push,promote")

    assert "does not grant promote" in _refused(skopeo, source, f"{repository}:nightly", writer)
    skopeo.ok("copy", *writing(promoter), source.reference, f"{repository}:nightly")
    refused = skopeo.run("delete", *asking(writer), f"{repository}:nightly")
    assert refused.returncode != 0
    assert "does not grant promote" in refused.stderr and "403 Forbidden" in refused.stderr
    skopeo.ok("delete", *asking(promoter), f"{repository}:nightly")
    assert json.loads(skopeo.ok("list-tags", *asking(writer), repository).stdout)["Tags"] == []

    skopeo.ok("copy", *writing(writer), source.reference, f"{repository}:1.0.0")
    refused = skopeo.run("delete", *asking(promoter), f"{repository}:1.0.0")
    assert refused.returncode != 0
    assert "versions are immutable and cannot be deleted" in refused.stderr
    listed = skopeo.ok("list-tags", *asking(writer), repository).stdout
    assert json.loads(listed)["Tags"] == ["1.0.0"]
