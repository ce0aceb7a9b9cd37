"""``custody output register|verify --hub`` and ``custody reprint`` against a live hub."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.tlog import LogSigner
from tests.registry.hub.conftest import (
    Generation,
    Keys,
    generate,
    png,
    push_version,
    write_reprint_policy,
    write_trust_policy,
)
from tests.support.databases import fresh_database
from tests.support.live import CUSTODY, cli_env, running_server
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer


@dataclass
class LiveHub:
    base: str
    token: str
    model: str
    log_key: str
    hub_key: Path
    policy: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_hub(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    keys: Keys,
) -> Iterator[LiveHub]:
    root = tmp_path_factory.mktemp("live-hub")
    url = fresh_database(request, root)
    policy = write_reprint_policy(root, keys)
    trust = write_trust_policy(root, keys)
    patch = pytest.MonkeyPatch()
    patch.setenv("CUSTODY_REPRINT_POLICY", str(policy))
    patch.setenv("CUSTODY_TRUST_POLICY", str(trust))
    try:
        with running_server(root / "data", url) as base:
            token = subprocess.run(
                [CUSTODY, "token", "create", "--namespace", "acme", "--scopes", "admin"],
                env=cli_env(root / "data", url),
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            with httpx.Client(base_url=base) as http:
                oci = Oci(http, bearer(token), "acme/sd")  # type: ignore[arg-type]
                model = push_version(oci, signer=keys.release, root=root)
                log_key = http.get("/api/v1/log/key").text.strip()
                hub_key = root / "hub.pub"
                hub_key.write_text(http.get("/api/v1/hub/key").json()["public_key_pem"])
            yield LiveHub(base, token, model, log_key, hub_key, policy)
    finally:
        patch.undo()


def _custody(live: LiveHub, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CUSTODY_HUB=live.base, CUSTODY_TOKEN=live.token)
    return subprocess.run([CUSTODY, *args], env=env, capture_output=True, text=True, timeout=120)


def _files(tmp_path: Path, gen: Generation) -> tuple[Path, Path, Path]:
    image = tmp_path / "out.png"
    image.write_bytes(gen.image)
    manifest = tmp_path / "out.png.custody.json"
    manifest.write_bytes(gen.manifest)
    latents = tmp_path / "latents.jsonl"
    latents.write_bytes(b"\n".join(gen.latents) + b"\n")
    return image, manifest, latents


def test_register_verify_and_reprint_from_the_command_line(live_hub, keys, tmp_path):
    gen = generate(keys, live_hub.model, image=png(seed=11))
    image, manifest, latents = _files(tmp_path, gen)
    pin = ["--log-key", live_hub.log_key]

    registered = _custody(
        live_hub, "output", "register", str(image), "--manifest", str(manifest),
        "--latents", str(latents), *pin,
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    assert gen.digest in registered.stdout

    verified = _custody(
        live_hub, "output", "verify", str(image), "--latents", str(latents),
        "--policy", str(live_hub.policy), "--repository", "acme/sd", *pin,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    assert "OK output" in verified.stdout and "OK hub" in verified.stdout
    assert "alice@acme.example" in verified.stdout and "signature verifies" in verified.stdout

    out = tmp_path / "attribution.json"
    reprinted = _custody(
        live_hub, "reprint", str(image), "--as", "daily-planet", "--out", str(out),
        "--hub-key", str(live_hub.hub_key), *pin,
    )  # fmt: skip
    assert reprinted.returncode == 0, reprinted.stderr
    assert "not pinned" not in reprinted.stderr
    token_id = live_hub.token.split("_")[1]
    assert f"reprinted by: daily-planet (token {token_id} of namespace 'acme')" in reprinted.stdout
    assert json.loads(out.read_text())["payloadType"] == "application/vnd.in-toto+json"

    refused = _custody(live_hub, "reprint", str(image), "--as", "ads-inc", "--commercial", *pin)
    assert refused.returncode == 11
    assert "FAILED [terms]" in refused.stderr and "non-commercial" in refused.stderr


def test_an_unregistered_image_and_a_wrong_log_key_fail(live_hub, keys, tmp_path):
    image = tmp_path / "never.png"
    image.write_bytes(png(seed=12))
    unknown = _custody(live_hub, "output", "verify", str(image))
    assert unknown.returncode == 11
    assert "FAILED [registration]" in unknown.stderr

    gen = generate(keys, live_hub.model, image=png(seed=13))
    image, manifest, latents = _files(tmp_path, gen)
    register = ["output", "register", str(image), "--manifest", str(manifest)]
    assert _custody(live_hub, *register, "--latents", str(latents)).returncode == 0
    name = live_hub.log_key.split("+", 1)[0]
    other_key = LogSigner(name, Ed25519PrivateKey.generate()).verifier_key  # same name, other key
    wrong = _custody(live_hub, "output", "verify", str(image), "--log-key", other_key)
    assert wrong.returncode == 14, wrong.stderr
    assert wrong.stderr.startswith("FAILED [checkpoint-signature]"), wrong.stderr
