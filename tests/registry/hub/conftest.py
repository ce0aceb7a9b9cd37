"""Fixtures for the reprint hub: keys, a reprint policy, a hub app on each engine, generations."""

from __future__ import annotations

import io
import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from PIL import Image

from registry import create_app
from registry.oci.mediatypes import SIGSTORE_BUNDLE
from registry.settings import Settings
from signing import sign_model
from signing.keys import generate_private_key, public_key_pem
from signing.provenance import LatentRecorder, image_digest, prompt_hash, sign_output_manifest
from signing.signers import KeySigner
from tests.support.oci_client import EMPTY, OCI_MANIFEST, Oci, descriptor_of
from tests.support.registry_helpers import bearer, sha256_digest

MAX_IMAGE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Keys:
    creator: KeySigner
    node: KeySigner
    stranger: KeySigner
    release: KeySigner


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(*(KeySigner(generate_private_key("ed25519")) for _ in range(4)))


def _pem(signer: KeySigner) -> str:
    return textwrap.indent(public_key_pem(signer.public_key).decode(), " " * 12)


@pytest.fixture
def reprint_policy(tmp_path: Path, keys: Keys) -> Path:
    return write_reprint_policy(tmp_path, keys)


def write_reprint_policy(
    directory: Path, keys: Keys, *, c2pa_without_latents: bool = False
) -> Path:
    """The hub's reprint policy: alice creates and edge-01 renders for acme/**."""
    path = directory / "reprint-policy.yaml"
    path.write_text(
        f"""\
version: 1
terms:
  reprint-allowed: {{}}
  attribution: {{requires_attribution: true}}
  non-commercial: {{forbids: [commercial]}}
  no-derivatives: {{forbids: [derivative]}}
  no-reprint: {{forbids: [reprint]}}
namespaces:
  - match: "acme/**"
    creators:
      - name: alice
        identity: alice@acme.example
        public_key_pem: |
{_pem(keys.creator)}
    nodes:
      - name: edge-01
        public_key_pem: |
{_pem(keys.node)}
    c2pa_without_latents: {str(c2pa_without_latents).lower()}
"""
    )
    return path


@pytest.fixture
def trust_policy(tmp_path: Path, keys: Keys) -> Path:
    return write_trust_policy(tmp_path, keys)


def write_trust_policy(directory: Path, keys: Keys) -> Path:
    """The registry's trust policy: acme's versions are signed by its release key."""
    path = directory / "trust-policy.yaml"
    path.write_text(
        f"""\
version: 1
namespaces:
  - match: "acme/**"
    threshold: 1
    signers:
      - name: release
        public_key_pem: |
{_pem(keys.release)}
"""
    )
    return path


@pytest.fixture
def hub_settings(settings: Settings, reprint_policy: Path, trust_policy: Path) -> Settings:
    return replace(
        settings,
        hub=replace(settings.hub, reprint_policy=reprint_policy, max_image_bytes=MAX_IMAGE_BYTES),
        policies=replace(settings.policies, trust=trust_policy),
    )


@pytest.fixture
def hub(hub_settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(app=create_app(hub_settings), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def hub_oci(hub: TestClient, make_token) -> Oci:  # type: ignore[no-untyped-def,type-arg]
    return Oci(hub, bearer(make_token(scopes="admin").secret), name="acme/sd")


def png(seed: int = 0, size: int = 16) -> bytes:
    image = Image.new("RGB", (size, size), (seed % 256, (seed * 7) % 256, 99))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class Generation:
    image: bytes
    manifest: bytes
    latents: list[bytes]

    @property
    def digest(self) -> str:
        return image_digest(self.image)

    def files(self, *, with_image: bool = True) -> dict[str, Any]:
        parts: dict[str, Any] = {
            "manifest": ("manifest.json", self.manifest, "application/json"),
            "latents": (
                "latents.json",
                json.dumps([json.loads(e) for e in self.latents]).encode(),
                "application/json",
            ),
        }
        if with_image:
            parts["image"] = ("out.png", self.image, "image/png")
        return parts


def generate(
    keys: Keys,
    model_reference: str,
    *,
    image: bytes | None = None,
    steps: int = 3,
    terms: tuple[str, ...] = ("attribution", "non-commercial"),
    node: KeySigner | None = None,
    creator: KeySigner | None = None,
    manifest_image: bytes | None = None,
) -> Generation:
    """A signed latent chain and output manifest, as an edge node and its creator make them."""
    image = image if image is not None else png()
    recorder = LatentRecorder(
        node or keys.node,
        model_reference=model_reference,
        sampler="euler",
        scheduler="karras",
        seed=42,
        guidance=7.5,
        prompt_hash=prompt_hash("a red fox", bytes(32)),
        node_id="edge-01",
    )
    for step in range(steps):
        recorder.record(bytes([step]) * 64, "float32", (1, 4, 2, 2), step)
    assert recorder.head is not None
    manifest = sign_output_manifest(
        creator or keys.creator,
        image_digest=image_digest(manifest_image if manifest_image is not None else image),
        model_reference=model_reference,
        final_latent=recorder.head,
        creator_id="alice@acme.example",
        license="CC-BY-NC-4.0",
        terms=list(terms),
    )
    return Generation(image, manifest, recorder.chain)


def push_version(
    oci: Oci, version: str = "1.0.0", *, signer: KeySigner | None = None, root: Path | None = None
) -> str:
    """Push a small model version to ``acme/sd``, signed by ``signer`` (an OMS bundle as a
    referrer) if given; returns ``acme/sd@<manifest digest>``."""
    files = {"README.md": b"# model card " + version.encode(), "config.json": b'{"arch": "unet"}'}
    body = oci.manifest(list(files.values()), titles=list(files))
    response = oci.put_manifest(version, body)
    assert response.status_code == 201, response.text
    digest = response.headers["Docker-Content-Digest"]
    if signer is not None:
        assert root is not None
        source = root / f"model-{version}"
        source.mkdir(parents=True)
        for name, data in files.items():
            (source / name).write_bytes(data)
        bundle = sign_model(source, signer).bundle.to_bytes()
        empty = oci.push_blob(b"{}")
        referrer = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": SIGSTORE_BUNDLE,
            "config": {"mediaType": EMPTY, "digest": empty, "size": 2},
            "layers": [
                {"mediaType": SIGSTORE_BUNDLE, "digest": oci.push_blob(bundle), "size": len(bundle)}
            ],
            "subject": descriptor_of(body),
        }
        referrer_body = json.dumps(referrer).encode()
        stored = oci.put_manifest(sha256_digest(referrer_body), referrer_body)
        assert stored.status_code == 201, stored.text
    return "acme/sd@" + digest
