"""End to end on a live registry with policies: ``custody publish``, promotion rules, strict
aliases, and a model signed by ``model_signing`` and pushed by ``oras`` verified the same way."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import model_signing
import oras.client
import pytest
from oras.oci import Subject

from signing.keys import write_key_pair
from signing.sbom import BomMetadata, generate_bom
from tests.conftest import _truncate_postgres
from tests.interop.conftest import LiveRegistry
from tests.support.live import CUSTODY, cli_env, running_server
from tests.support.policy_files import PolicyFiles, make_policy_files, write_model
from tests.support.registry_helpers import onnx_bytes, safetensors_bytes

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FILES = {
    "model.safetensors": safetensors_bytes(b"\2" * 16),
    "model.onnx": onnx_bytes(4096),
    "config.json": b'{"arch": "unet"}',
}


@dataclass
class PolicyRegistry(LiveRegistry):
    policy: PolicyFiles


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PolicyRegistry]:
    root = tmp_path_factory.mktemp("policy-live")
    policy = make_policy_files(root / "policies")
    # model_signing 1.1.1 signs with ECDSA keys only: dave is a trusted ECDSA signer.
    write_key_pair(policy.key("dave"), "ecdsa-p256", None)
    policy.write_trust(signers=("alice", "bob", "carol", "dave"))
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, root / "custody.db")
        url = f"sqlite:///{root / 'custody.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        _truncate_postgres(url)
    env = {
        "CUSTODY_TRUST_POLICY": str(policy.trust),
        "CUSTODY_ADMISSION_POLICY": str(policy.admission),
        "CUSTODY_MANIFEST_CACHE_SECONDS": "0",
    }
    with running_server(root / "data", url, env) as base:
        yield PolicyRegistry(base, base.removeprefix("http://"), root / "data", url, policy)


def _custody(live: LiveRegistry, token: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(live.data_dir, live.database_url), "CUSTODY_REGISTRY": live.base}
    env["CUSTODY_TOKEN"] = token
    return subprocess.run(
        [CUSTODY, *map(str, args)], env=env, capture_output=True, text=True, check=False
    )


def _view(live: LiveRegistry, token: str, repo: str, version: str) -> dict[str, Any]:
    response = httpx.get(
        f"{live.base}/api/v1/models/{repo}/versions/{version}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_publish_promote_and_revoke(registry: PolicyRegistry, tmp_path: Path) -> None:
    token = registry.token()
    keys = registry.policy
    model = write_model(tmp_path / "model", FILES)

    first = _custody(
        registry, token, "publish", model, "acme/sd:1.0.0", "--key", keys.key("alice"),
        "--alias", "staging", "--no-sbom", "--json",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["verification"][0]["outcome"] == "verified"
    assert summary["alias"] == "staging" and summary["uploaded"] == 3

    # production needs two distinct trusted keys, an SBOM and an allowed licence.
    check = _custody(registry, token, "policy", "check", "acme/sd:1.0.0", "--alias", "production")
    assert check.returncode == 1
    assert check.stdout.count("failed:") == 3, check.stdout
    refused = _custody(registry, token, "alias", "set", "acme/sd", "production", "1.0.0")
    assert refused.returncode != 0 and "needs 2 distinct trusted signer(s)" in refused.stderr

    # A second release engineer signs the same bytes: the version is reused, nothing re-uploaded.
    bom = tmp_path / "bom.json"
    bom.write_bytes(
        generate_bom(model, BomMetadata(name="sd", licenses=("Apache-2.0",))).to_bytes()
    )
    second = _custody(
        registry, token, "publish", model, "acme/sd:1.0.0", "--key", keys.key("bob"),
        "--sbom", bom, "--alias", "production", "--json",
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["uploaded"] == 0
    out = tmp_path / "pulled"
    assert _custody(registry, token, "pull", "acme/sd:production", out).returncode == 0

    # bob's key is revoked: the strict alias stops resolving; the digest stays readable.
    keys.write_trust(signers=("alice", "carol", "dave"))
    site = registry.token(namespace="*", scopes="admin")
    assert _custody(registry, site, "policy", "reload").returncode == 0
    blocked = _custody(registry, token, "pull", "acme/sd:production", tmp_path / "again")
    assert blocked.returncode != 0 and "no longer satisfies policy" in blocked.stderr
    digest = summary["digest"]
    assert _custody(registry, token, "pull", f"acme/sd@{digest}", tmp_path / "d").returncode == 0
    keys.write_trust(signers=("alice", "bob", "carol", "dave"))
    assert _custody(registry, site, "policy", "reload").returncode == 0


def test_untrusted_signature_is_recorded_but_does_not_count(
    registry: PolicyRegistry, tmp_path: Path
) -> None:
    token = registry.token()
    model = write_model(tmp_path / "model", {**FILES, "config.json": b'{"v": 2}'})
    result = _custody(
        registry, token, "publish", model, "acme/sd:2.0.0", "--key",
        registry.policy.key("mallory"), "--alias", "staging",
    )  # fmt: skip
    assert result.returncode != 0
    assert "needs 1 distinct trusted signer(s)" in result.stderr
    signatures = _view(registry, token, "acme/sd", "2.0.0")["signatures"]
    assert [s["outcome"] for s in signatures] == ["failed"]


def test_attacker_token_and_pickle_are_refused(registry: PolicyRegistry, tmp_path: Path) -> None:
    model = write_model(tmp_path / "model", FILES)
    attacker = registry.token(namespace="evil")
    result = _custody(
        registry, attacker, "publish", model, "acme/sd:3.0.0", "--key",
        registry.policy.key("alice"),
    )  # fmt: skip
    assert result.returncode != 0 and result.stderr.count("\n") == 1
    promote = _custody(registry, attacker, "alias", "set", "acme/sd", "staging", "1.0.0")
    assert promote.returncode != 0

    pickled = write_model(tmp_path / "pickled", {**FILES, "pytorch_model.bin": b"\x80\x04K\x01."})
    token = registry.token()
    result = _custody(
        registry, token, "publish", pickled, "acme/sd:3.0.0", "--key", registry.policy.key("alice")
    )
    assert result.returncode != 0
    assert "pytorch_model.bin" in result.stderr and "pickle" in result.stderr


def test_model_signing_and_oras_are_verified_like_custody_publish(
    registry: PolicyRegistry, tmp_path: Path
) -> None:
    token = registry.token()
    model = write_model(tmp_path / "model", FILES)
    signature = tmp_path / "model.sig"
    hashing = model_signing.hashing.Config()
    hashing.set_ignored_paths(paths=[], ignore_git_paths=True)
    model_signing.signing.Config().use_elliptic_key_signer(
        private_key=registry.policy.key("dave")
    ).set_hashing_config(hashing).sign(model, signature)

    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.auth.set_basic_auth("release-engineer", token)
    target = f"{registry.host}/acme/oras-signed:1.0.0"
    files = [str(model / name) for name in sorted(FILES)]
    assert client.push(
        files=files, target=target, disable_path_validation=True, quiet=True
    ).status_code in {200, 201}
    head = httpx.head(
        f"{registry.base}/v2/acme/oras-signed/manifests/1.0.0",
        headers={"Authorization": f"Bearer {token}"},
    )
    subject = Subject(
        mediaType="application/vnd.oci.image.manifest.v1+json",
        digest=head.headers["docker-content-digest"],
        size=int(head.headers["content-length"]),
    )
    config = tmp_path / "config.json"
    config.write_text("{}")
    pushed = client.push(
        files=[str(signature)],
        target=f"{registry.host}/acme/oras-signed:sig",
        subject=subject,
        manifest_config=f"{config}:application/vnd.dev.sigstore.bundle.v0.3+json",
        disable_path_validation=True,
        quiet=True,
    )
    assert pushed.status_code == 201, pushed.text
    signatures = _view(registry, token, "acme/oras-signed", "1.0.0")["signatures"]
    assert [(s["outcome"], s["trusted_as"]) for s in signatures] == [("verified", "dave")]
    staging = _custody(registry, token, "alias", "set", "acme/oras-signed", "staging", "1.0.0")
    assert staging.returncode == 0, staging.stderr
