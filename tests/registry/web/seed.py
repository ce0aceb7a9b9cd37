"""A registry with something to look at: one signed version with an SBOM, an alias moved
through the gate, and an anonymous namespace. Works over the Litestar test client and
over ``httpx`` against a live server alike (both speak ``get``/``put``/``post``); and such a
live server, seeded, for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from signing.sbom import BomMetadata, Dataset, generate_bom
from tests.support.live import running_server
from tests.support.oci_client import Oci
from tests.support.policy_files import (
    PolicyFiles,
    attach_signature,
    make_policy_files,
    push_version,
    sign_dir,
    write_model,
)
from tests.support.registry_helpers import bearer, onnx_bytes, safetensors_bytes
from tests.support.tokens import issue

CDX = "application/vnd.cyclonedx+json"
FILES = {
    "unet/model.safetensors": safetensors_bytes(b"\1" * 16),
    "text_encoder.onnx": onnx_bytes(64),
    "config.json": b'{"arch": "unet"}',
}
DATASET = "laion-aesthetics"


@dataclass(frozen=True)
class Seeded:
    #: An admin token for ``acme`` (private) and a pull-only one.
    admin: str
    reader: str
    #: The digest of acme/model 1.0.0.
    digest: str


def seed(client: Any, database_url: str, policy: PolicyFiles, tmp: Path) -> Seeded:
    admin = issue(database_url, "acme", "admin").secret
    reader = issue(database_url, "acme", "pull").secret
    oci = Oci(client, bearer(admin))
    model = write_model(tmp / "seed-model", FILES)
    subject = push_version(oci, model, "1.0.0")
    for signer in ("alice", "mallory"):
        assert (
            attach_signature(oci, subject, sign_dir(model, policy.key(signer))).status_code == 201
        )
    bom = generate_bom(
        model,
        BomMetadata(
            name="model",
            licenses=("Apache-2.0",),
            supplier="Acme",
            datasets=(Dataset(DATASET, sha256="ab" * 32),),
        ),
    ).to_bytes()
    attached = client.post(
        "/api/v1/models/acme/model/versions/1.0.0/sbom",
        content=bom,
        headers={**oci.headers, "Content-Type": CDX},
    )
    assert attached.status_code == 201, attached.text
    moved = client.put(
        "/api/v1/models/acme/model/aliases/staging", json={"version": "1.0.0"}, headers=oci.headers
    )
    assert moved.status_code == 200, moved.text

    public_admin = issue(database_url, "public", "admin").secret
    public = Oci(client, bearer(public_admin), name="public/demo")
    push_version(public, model, "0.1.0", name="public/demo")
    opened = client.patch(
        "/api/v1/namespaces/public", json={"anonymous_pull": True}, headers=public.headers
    )
    assert opened.status_code == 200, opened.text
    digest = client.get("/api/v1/models/acme/model/versions/1.0.0", headers=oci.headers).json()
    return Seeded(admin=admin, reader=reader, digest=digest["digest"])


@contextmanager
def serve_seeded(root: Path, database_url: str) -> Iterator[tuple[str, Seeded]]:
    """A live ``custody serve`` on ``database_url`` with policies in force, seeded: its base
    URL and what :func:`seed` made (``root`` holds the policies and the data directory)."""
    policy = make_policy_files(root / "policies")
    env = {
        "CUSTODY_TRUST_POLICY": str(policy.trust),
        "CUSTODY_ADMISSION_POLICY": str(policy.admission),
    }
    with running_server(root / "data", database_url, env) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            seeded = seed(client, database_url, policy, root)
        yield base, seeded
