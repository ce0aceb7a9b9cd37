"""``modelpack-client`` and ``custody push/pull`` read each other's ModelPack artifacts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from modelpack_client import (
    ModelDescriptor,
    ModelLayer,
    ModelPackClient,
    ModelPackConfig,
    ModelTechnicalConfig,
)

from tests.interop.conftest import LiveRegistry
from tests.support.live import CUSTODY
from tests.support.registry_helpers import onnx_bytes
from verifier.clients.push import PushClient
from verifier.clients.registry import RegistryClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _model_dir(root: Path, big: bool = False) -> Path:
    root.mkdir(parents=True)
    header = b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    (root / "model.safetensors").write_bytes(
        len(header).to_bytes(8, "little") + header + os.urandom(16)
    )
    (root / "config.json").write_text('{"arch": "unet"}')
    (root / "sub").mkdir()
    (root / "sub" / "README.md").write_text("# model card\n")
    if big:  # over the 16 MiB single-request threshold: chunked
        (root / "big.onnx").write_bytes(onnx_bytes(20 * 1024 * 1024 + 5))
    return root


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _custody(live: LiveRegistry, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CUSTODY_REGISTRY=live.base, CUSTODY_TOKEN=token)
    return subprocess.run([CUSTODY, *args], env=env, capture_output=True, text=True, timeout=300)


def test_modelpack_client_push_then_custody_pull(live_registry, tmp_path):
    token = live_registry.token()
    source = _model_dir(tmp_path / "src")
    client = ModelPackClient(insecure=True)
    client.login(live_registry.host, "release-engineer", token)
    config = ModelPackConfig(
        descriptor=ModelDescriptor(name="mp", version="1.0.0", licenses=("Apache-2.0",)),
        config=ModelTechnicalConfig(architecture="unet", format="safetensors"),
    )
    result = client.push(
        f"{live_registry.host}/acme/from-modelpack:1.0.0",
        layers=[
            ModelLayer(str(source / "model.safetensors")),
            ModelLayer(
                str(source / "config.json"),
                media_type="application/vnd.cncf.model.weight.config.v1.raw",
            ),
        ],
        config=config,
    )
    assert result.digest.startswith("sha256:")
    pulled = _custody(
        live_registry, token, "pull", "acme/from-modelpack:1.0.0", str(tmp_path / "out"), "--json"
    )
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pulled.stdout)["digest"] == result.digest
    out = _tree(tmp_path / "out")
    assert out == {k: v for k, v in _tree(source).items() if k in out}
    assert set(out) == {"model.safetensors", "config.json"}

    # the lifecycle API understands what a tool nobody here wrote pushed
    with RegistryClient(live_registry.base, token) as api:
        view = api.api("GET", "/api/v1/models/acme/from-modelpack/versions/1.0.0")
    assert view["config"]["config"]["format"] == "safetensors"
    assert [(f["name"], f["format"]) for f in view["files"]] == [
        ("model.safetensors", "safetensors"),
        ("config.json", "json"),
    ]


def test_custody_push_then_modelpack_client_pull(live_registry, tmp_path):
    token = live_registry.token()
    source = _model_dir(tmp_path / "src", big=True)
    pushed = _custody(
        live_registry,
        token,
        "push",
        str(source),
        "acme/from-custody:1.0.0",
        "--json",
        "--alias",
        "staging",
    )
    assert pushed.returncode == 0, pushed.stderr
    summary = json.loads(pushed.stdout)
    assert (summary["files"], summary["uploaded"], summary["skipped"]) == (4, 4, 0)
    assert summary["alias"] == "staging"

    client = ModelPackClient(insecure=True)
    client.login(live_registry.host, "edge", token)
    result = client.pull(f"{live_registry.host}/acme/from-custody:1.0.0", tmp_path / "mp-out")
    assert result.config["descriptor"]["version"] == "1.0.0"
    assert _tree(tmp_path / "mp-out") == _tree(source)

    # pushed again: nothing is uploaded twice
    again = _custody(live_registry, token, "push", str(source), "acme/from-custody:1.0.1", "--json")
    assert json.loads(again.stdout)["uploaded"] == 0

    pulled = _custody(
        live_registry, token, "pull", "acme/from-custody:staging", str(tmp_path / "custody-out")
    )
    assert pulled.returncode == 0, pulled.stderr
    assert _tree(tmp_path / "custody-out") == _tree(source)

    listed = _custody(live_registry, token, "ls", "acme/from-custody")
    assert "1.0.0" in listed.stdout and "staging -> 1.0.0" in listed.stdout
    moved = _custody(live_registry, token, "alias", "set", "acme/from-custody", "staging", "1.0.1")
    assert moved.returncode == 0, moved.stderr
    assert "->" in moved.stdout


def test_push_with_a_generated_sbom(live_registry, tmp_path):
    token = live_registry.token()
    source = _model_dir(tmp_path / "src")
    pushed = _custody(
        live_registry,
        token,
        "push",
        str(source),
        "acme/with-sbom:1.0.0",
        "--sbom-from-files",
        "--json",
    )
    assert pushed.returncode == 0, pushed.stderr
    summary = json.loads(pushed.stdout)
    with RegistryClient(live_registry.base, token) as api:
        view = api.api("GET", "/api/v1/models/acme/with-sbom/versions/1.0.0")
    assert view["sbom"]["digest"] == summary["sbom"]
    assert view["sbom"]["binding"] in {"files", "files+root"}


def test_push_an_existing_version_is_refused_in_one_line(live_registry, tmp_path):
    token = live_registry.token()
    source = _model_dir(tmp_path / "src")
    assert _custody(live_registry, token, "push", str(source), "acme/fixed:1.0.0").returncode == 0
    (source / "config.json").write_text('{"arch": "changed"}')
    again = _custody(live_registry, token, "push", str(source), "acme/fixed:1.0.0")
    assert again.returncode == 1
    assert len(again.stderr.strip().splitlines()) == 1
    assert "immutable" in again.stderr


def test_pull_refuses_a_path_that_escapes(live_registry, tmp_path):
    """A hostile manifest naming ../ is refused before anything is written."""
    token = live_registry.token()
    with PushClient(live_registry.base, token) as client:
        data = b"payload"
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blob = tmp_path / "blob"
        blob.write_bytes(data)
        client.upload_blob("acme/evil", blob, digest, len(data))
        empty = tmp_path / "empty"
        empty.write_bytes(b"{}")
        client.upload_blob("acme/evil", empty, "sha256:" + hashlib.sha256(b"{}").hexdigest(), 2)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.cncf.model.weight.v1.raw",
                    "digest": digest,
                    "size": len(data),
                    "annotations": {"org.opencontainers.image.title": "../escaped.txt"},
                }
            ],
        }
        client.put_manifest("acme/evil", "1.0.0", json.dumps(manifest).encode())
    result = _custody(live_registry, token, "pull", "acme/evil:1.0.0", str(tmp_path / "dest"))
    assert result.returncode == 1
    assert "would leave" in result.stderr
    assert not (tmp_path / "escaped.txt").exists()


def test_interrupted_chunked_upload_resumes(live_registry, tmp_path):
    token = live_registry.token()
    data = os.urandom(40 * 1024 * 1024 + 3)
    path = tmp_path / "weights.bin"
    path.write_bytes(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    state = tmp_path / "state"
    with PushClient(live_registry.base, token) as client:
        # begin a session and send one chunk by hand, as an interrupted push would have
        started = client._request("POST", "/v2/acme/resume/blobs/uploads/")
        location = started.headers["location"]
        first = 16 * 1024 * 1024
        client._request(
            "PATCH", location, content=data[:first], headers={"Content-Range": f"0-{first - 1}"}
        )
        state.mkdir()
        (state / f"{digest.replace(':', '-')}.json").write_text(json.dumps({"location": location}))
        progress: list[int] = []
        client.upload_blob(
            "acme/resume", path, digest, len(data), state_dir=state, progress=progress.append
        )
        assert progress[0] == first  # resumed at the registry's offset, not from zero
        assert sum(progress) == len(data)
        assert client.blob_exists("acme/resume", digest)
        assert list(state.iterdir()) == []


def test_download_resumes_a_partial_file_and_rejects_tampering(live_registry, tmp_path):
    token = live_registry.token()
    data = os.urandom(3 * 1024 * 1024)
    path = tmp_path / "blob"
    path.write_bytes(data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with PushClient(live_registry.base, token) as client:
        client.upload_blob("acme/dl", path, digest, len(data))
        target = tmp_path / "out" / "blob"
        target.parent.mkdir()
        (target.parent / "blob.partial").write_bytes(data[:1000])
        client.download_blob("acme/dl", digest, target, size=len(data))
        assert target.read_bytes() == data
        # a partial file with wrong bytes is caught at the end and discarded
        (target.parent / "other.partial").write_bytes(b"X" * 1000)
        from verifier.errors import IntegrityError

        with pytest.raises(IntegrityError):
            client.download_blob("acme/dl", digest, target.parent / "other", size=len(data))
        assert not (target.parent / "other").exists()
        assert not (target.parent / "other.partial").exists()
