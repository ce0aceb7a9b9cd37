"""The unmodified ``oras`` Python client against a live Custody registry."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import httpx
import oras.client
import oras.provider
import pytest

from tests.interop.conftest import LiveRegistry
from tests.support.live import CUSTODY, cli_env
from tests.support.registry_helpers import onnx_bytes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _client(live: LiveRegistry, token: str) -> oras.client.OrasClient:
    client = oras.client.OrasClient(hostname=live.host, insecure=True)
    # oras' login() would write ~/.docker/config.json; set the credentials directly.
    client.auth.set_basic_auth("release-engineer", token)
    return client


def _model_files(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / "model.safetensors"
    header = b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    weights.write_bytes(len(header).to_bytes(8, "little") + header + os.urandom(16))
    onnx = directory / "model.onnx"
    onnx.write_bytes(onnx_bytes(300_000))
    return [weights, onnx]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("chunked", [False, True], ids=["monolithic", "chunked"])
def test_push_and_pull_back_byte_equal(live_registry, tmp_path, chunked):
    token = live_registry.token()
    client = _client(live_registry, token)
    files = _model_files(tmp_path / "src")
    version = "2.0.0" if chunked else "1.0.0"
    target = f"{live_registry.host}/acme/oras-model:{version}"
    response = client.push(
        files=[str(f) for f in files],
        target=target,
        disable_path_validation=True,
        do_chunked=chunked,
        chunk_size=64 * 1024,
        quiet=True,
    )
    assert response.status_code == 201, response.text
    out = tmp_path / "out"
    pulled = client.pull(target=target, outdir=str(out))
    assert sorted(Path(p).name for p in pulled) == ["model.onnx", "model.safetensors"]
    for original in files:
        assert _sha(out / original.name) == _sha(original)


def test_tags_manifest_and_deletion_rules(live_registry, tmp_path):
    token = live_registry.token()
    client = _client(live_registry, token)
    files = _model_files(tmp_path / "src")
    repo = f"{live_registry.host}/acme/tagged"
    for tag in ("1.0.0", "1.1.0", "staging"):
        client.push(
            files=[str(files[0])], target=f"{repo}:{tag}", disable_path_validation=True, quiet=True
        )
    assert client.get_tags(f"{repo}") == ["1.0.0", "1.1.0", "staging"]
    assert client.get_tags(f"{repo}", N=2) == ["1.0.0", "1.1.0"]
    manifest = client.get_manifest(f"{repo}:1.1.0")
    assert manifest["schemaVersion"] == 2
    assert manifest["layers"][0]["annotations"]["org.opencontainers.image.title"] == (
        "model.safetensors"
    )
    # a version can never be deleted; oras reports the registry's refusal
    with pytest.raises(RuntimeError, match="immutable"):
        client.delete_tag(repo, "1.0.0")
    assert "1.0.0" in client.get_tags(repo)


def test_alias_only_manifest_can_be_deleted(live_registry, tmp_path):
    token = live_registry.token()
    client = _client(live_registry, token)
    scratch = tmp_path / "scratch.txt"
    scratch.write_text("an alias-only artifact")
    repo = f"{live_registry.host}/acme/scratch"
    client.push(
        files=[str(scratch)], target=f"{repo}:nightly", disable_path_validation=True, quiet=True
    )
    assert client.delete_tag(repo, "nightly") is True
    assert client.get_tags(repo) == []


def test_pull_only_token_cannot_push(live_registry, tmp_path):
    """oras re-authenticates after the 403, gets a pull-only grant, and is refused again."""
    reader = live_registry.token(scopes="pull")
    files = _model_files(tmp_path / "src")
    client = _client(live_registry, reader)
    with pytest.raises(Exception) as refused:
        client.push(
            files=[str(files[0])],
            target=f"{live_registry.host}/acme/readonly:1.0.0",
            disable_path_validation=True,
            quiet=True,
        )
    assert (
        "403" in str(refused.value)
        or "DENIED" in str(refused.value)
        or "denied" in str(refused.value).lower()
    )


def test_token_endpoint_as_oras_calls_it(live_registry):
    """The Docker token flow oras follows: challenge, Basic at the realm, Bearer back."""
    import httpx

    token = live_registry.token(scopes="pull")
    anonymous = httpx.get(f"{live_registry.base}/v2/acme/oras-model/tags/list")
    assert anonymous.status_code == 401
    challenge = anonymous.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="{live_registry.base}/auth/token"')
    assert 'scope="repository:acme/oras-model:pull"' in challenge
    granted = httpx.get(
        f"{live_registry.base}/auth/token",
        params={"service": "custody", "scope": "repository:acme/oras-model:pull,push"},
        auth=("anyone", token),
    )
    assert granted.status_code == 200
    bearer = {"Authorization": f"Bearer {granted.json()['token']}"}
    assert granted.json()["expires_in"] == 300
    listed = httpx.get(f"{live_registry.base}/v2/acme/oras-model/tags/list", headers=bearer)
    assert listed.status_code in {200, 404}
    push = httpx.post(f"{live_registry.base}/v2/acme/oras-model/blobs/uploads/", headers=bearer)
    assert push.status_code == 403  # push was asked for but not granted
    assert 'error="insufficient_scope"' in push.headers["www-authenticate"]
    other = httpx.get(f"{live_registry.base}/v2/acme/elsewhere/tags/list", headers=bearer)
    assert other.status_code == 403  # grants are per repository
    wrong = httpx.get(f"{live_registry.base}/auth/token", auth=("x", "cst_0_wrong"))
    assert wrong.status_code == 401


def test_one_client_across_two_repositories(live_registry, tmp_path):
    token = live_registry.token()
    client = _client(live_registry, token)
    files = _model_files(tmp_path / "src")
    for repo in ("acme/first", "acme/second"):
        response = client.push(
            files=[str(f) for f in files],
            target=f"{live_registry.host}/{repo}:1.0.0",
            disable_path_validation=True,
            quiet=True,
        )
        assert response.status_code == 201, response.text
    for repo in ("acme/first", "acme/second"):
        out = tmp_path / repo.replace("/", "_")
        client.pull(target=f"{live_registry.host}/{repo}:1.0.0", outdir=str(out))
        assert _sha(out / "model.onnx") == _sha(files[1])


def test_referrers_pushed_by_oras(live_registry, tmp_path):
    """An SBOM and a signature pushed by oras with a subject show up as referrers."""
    import httpx
    from oras.oci import Subject

    token = live_registry.token()
    client = _client(live_registry, token)
    files = _model_files(tmp_path / "src")
    repo = f"{live_registry.host}/acme/referred"
    client.push(
        files=[str(files[0])], target=f"{repo}:1.0.0", disable_path_validation=True, quiet=True
    )
    head = httpx.head(
        f"{live_registry.base}/v2/acme/referred/manifests/1.0.0",
        headers={"Authorization": f"Bearer {token}"},
    )
    subject = Subject(
        mediaType="application/vnd.oci.image.manifest.v1+json",
        digest=head.headers["docker-content-digest"],
        size=int(head.headers["content-length"]),
    )
    kinds = {
        "sbom": "application/vnd.cyclonedx+json",
        "sig": "application/vnd.dev.sigstore.bundle.v0.3+json",
    }
    from signing.sbom import BomMetadata, generate_bom

    only_weights = tmp_path / "bom-model"
    only_weights.mkdir()
    (only_weights / "model.safetensors").write_bytes(files[0].read_bytes())
    payloads = {
        "sbom": generate_bom(only_weights, BomMetadata(name="referred")).to_bytes(),
        "sig": b"{}",
    }
    for tag, artifact_type in kinds.items():
        payload = tmp_path / f"{tag}.json"
        payload.write_bytes(payloads[tag])
        config = tmp_path / f"{tag}-config.json"
        config.write_text("{}")
        response = client.push(
            files=[str(payload)],
            target=f"{repo}:{tag}",
            subject=subject,
            manifest_config=f"{config}:{artifact_type}",
            disable_path_validation=True,
            quiet=True,
        )
        assert response.status_code == 201, response.text
        assert response.headers["oci-subject"] == subject.digest

    url = f"{live_registry.base}/v2/acme/referred/referrers/{subject.digest}"
    auth = {"Authorization": f"Bearer {token}"}
    listed = httpx.get(url, headers=auth).json()["manifests"]
    assert sorted(d["artifactType"] for d in listed) == sorted(kinds.values())
    only_sboms = httpx.get(url, params={"artifactType": kinds["sbom"]}, headers=auth)
    assert only_sboms.headers["oci-filters-applied"] == "artifactType"
    assert [d["artifactType"] for d in only_sboms.json()["manifests"]] == [kinds["sbom"]]
    # the SBOM pushed by a tool nobody here wrote was validated, bound and indexed
    view = httpx.get(
        f"{live_registry.base}/api/v1/models/acme/referred/versions/1.0.0", headers=auth
    ).json()
    assert view["sbom"]["binding"] in {"files", "files+root"}


@pytest.mark.parametrize("chunked", [False, True], ids=["monolithic", "chunked"])
def test_a_push_over_the_namespace_quota_fails_cleanly(
    live_registry, tmp_path, monkeypatch, chunked
):
    """oras stops at the 409 DENIED and logs the registry's message; nothing is linked."""
    logged: list[str] = []
    monkeypatch.setattr(oras.provider.logger, "error", logged.append)
    namespace = f"capped{int(chunked)}"
    token = live_registry.token(namespace=namespace)
    subprocess.run(
        [CUSTODY, "namespace", "quota", namespace, "100KiB"],
        env=cli_env(live_registry.data_dir, live_registry.database_url),
        check=True,
        capture_output=True,
    )
    files = _model_files(tmp_path / "src")  # 88 bytes of safetensors, 300 kB of ONNX
    with pytest.raises(ValueError, match="Conflict"):
        _client(live_registry, token).push(
            files=[str(f) for f in files],
            target=f"{live_registry.host}/{namespace}/model:1.0.0",
            disable_path_validation=True,
            do_chunked=chunked,
            chunk_size=64 * 1024,
            quiet=True,
        )
    assert any(f"storage quota of namespace {namespace} exceeded" in m for m in logged), logged
    shown = httpx.get(
        f"{live_registry.base}/api/v1/namespaces/{namespace}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert shown["quota_bytes"] == 100 * 1024 and shown["used_bytes"] == files[0].stat().st_size
    onnx = _sha(files[1])
    assert not (live_registry.data_dir / "blobs" / "sha256" / onnx[:2] / onnx).exists()
