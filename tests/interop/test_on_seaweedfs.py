"""The registry on a distributed object store: ``custody serve`` with its blobs in SeaweedFS.

A live server (PostgreSQL or SQLite for metadata, ``CUSTODY_STORAGE=s3://...`` for
bytes) takes a model from ``custody push`` (one file over the chunked-upload
threshold) and from ``oras``; both pull it back byte for byte, every blob is an
object under the prefix, and nothing lands in the data directory's ``blobs/``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import oras.client
import pytest

from tests.support.databases import fresh_database
from tests.support.live import CUSTODY, cli_env, running_server
from tests.support.registry_helpers import onnx_bytes
from tests.support.seaweedfs import SeaweedFS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class RegistryOnS3:
    base: str
    data_dir: Path
    database_url: str
    server: SeaweedFS
    prefix: str

    def token(self) -> str:
        created = subprocess.run(
            [CUSTODY, "token", "create", "--namespace", "acme", "--scopes", "pull,push"],
            env=cli_env(self.data_dir, self.database_url),
            capture_output=True,
            text=True,
            check=True,
        )
        return created.stdout.strip()

    def objects(self) -> dict[str, int]:
        """Every object under the prefix, by key relative to it, with its size."""
        pages = (
            self.server.client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.server.bucket, Prefix=f"{self.prefix}/")
        )
        return {
            item["Key"].removeprefix(f"{self.prefix}/"): item["Size"]
            for page in pages
            for item in page.get("Contents", [])
        }


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def registry_on_s3(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS
) -> Iterator[RegistryOnS3]:
    root = tmp_path_factory.mktemp("on-s3")
    url = fresh_database(request, root)
    prefix = f"live-{uuid.uuid4().hex[:12]}"
    env = seaweedfs.registry_env(prefix)
    with running_server(root / "data", url, env) as base:
        yield RegistryOnS3(base, root / "data", url, seaweedfs, prefix)


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """oras reads ~/.docker/config.json: never the developer's own."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()


def _model(root: Path) -> dict[str, str]:
    """A small model with one file over the chunked-upload threshold; name -> sha256."""
    root.mkdir(parents=True)
    header = b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    (root / "model.safetensors").write_bytes(
        len(header).to_bytes(8, "little") + header + os.urandom(16)
    )
    (root / "config.json").write_text('{"arch": "unet"}')
    (root / "big.onnx").write_bytes(onnx_bytes(20 * 1024 * 1024 + 5))
    return _hashes(root)


def _hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _stored(objects: dict[str, int]) -> dict[str, int]:
    """Blob sizes by hex digest, from a listing: under their digest's key, or a session's
    object named by a ref (``_refs/sha256/<2>/<hex>/<session>``, see registry.storage.s3)."""
    stored = {key.rpartition("/")[2]: size for key, size in objects.items() if key[:7] == "sha256/"}
    for key in objects:
        if key.startswith("_refs/sha256/"):
            digest, _, session = key.removeprefix("_refs/sha256/").partition("/")[2].partition("/")
            stored[digest] = objects[f"_objects/{session}"]
    return stored


def test_ready_with_its_blobs_in_the_bucket(registry_on_s3: RegistryOnS3) -> None:
    ready = httpx.get(f"{registry_on_s3.base}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    log = next(registry_on_s3.data_dir.parent.glob("server-*.log")).read_text()
    assert f"storage: S3 s3://{registry_on_s3.server.bucket}/{registry_on_s3.prefix}" in log
    assert registry_on_s3.server.secret_access_key not in log


def test_custody_push_and_pull_through_seaweedfs(
    registry_on_s3: RegistryOnS3, tmp_path: Path
) -> None:
    hashes = _model(tmp_path / "src")
    env = dict(
        os.environ, CUSTODY_REGISTRY=registry_on_s3.base, CUSTODY_TOKEN=registry_on_s3.token()
    )

    def custody(*args: str) -> str:
        done = subprocess.run(
            [CUSTODY, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    custody("push", str(tmp_path / "src"), "acme/on-s3:1.0.0")
    custody("pull", "acme/on-s3:1.0.0", str(tmp_path / "out"))
    assert _hashes(tmp_path / "out") == hashes
    objects = registry_on_s3.objects()
    stored = _stored(objects)
    assert set(hashes.values()) <= set(stored)
    # Over 16 MiB: pushed in chunks, stored as its session's object, named by a ref.
    big = hashes["big.onnx"]
    assert f"sha256/{big[:2]}/{big}" not in objects
    assert stored[big] == (tmp_path / "src" / "big.onnx").stat().st_size
    assert not any(key.startswith("_sessions/") for key in objects)  # consumed at the close
    blob_dir = registry_on_s3.data_dir / "blobs"
    assert not blob_dir.exists() or not any(p.is_file() for p in blob_dir.rglob("*"))


@pytest.mark.parametrize("chunked", [False, True], ids=["monolithic", "chunked"])
def test_oras_push_and_pull_through_seaweedfs(
    registry_on_s3: RegistryOnS3, tmp_path: Path, chunked: bool
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    weights = source / "weights.onnx"
    weights.write_bytes(onnx_bytes(300_000))
    hashes = _hashes(source)
    host = registry_on_s3.base.removeprefix("http://")
    client = oras.client.OrasClient(hostname=host, insecure=True)
    client.auth.set_basic_auth("ci", registry_on_s3.token())
    target = f"{host}/acme/oras-on-s3:{'2.0.0' if chunked else '1.0.0'}"
    pushed = client.push(
        files=[str(weights)],
        target=target,
        disable_path_validation=True,
        do_chunked=chunked,
        chunk_size=64 * 1024,
        quiet=True,
    )
    assert pushed.status_code == 201, pushed.text
    pulled = client.pull(target=target, outdir=str(tmp_path / "out"))
    assert [Path(p).name for p in pulled] == ["weights.onnx"]
    assert _hashes(tmp_path / "out") == hashes
    assert set(hashes.values()) <= set(_stored(registry_on_s3.objects()))
    assert not (registry_on_s3.data_dir / "blobs").exists()
