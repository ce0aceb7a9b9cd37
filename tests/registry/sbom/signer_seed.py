"""Versions to search by signer: acme/model 1.0.0 signed by alice (trusted) and mallory (not:
a failed verdict) with an SBOM; 2.0.0 signed by bob, no SBOM; acme/plain 1.0.0 unsigned.

Certificate and Sigstore identities need a CA or a Sigstore instance to sign with; what the
search reads is the verdict's recorded principals, so :func:`add_identities` records
identities on bob's verdict the way :mod:`verifier.identity` spells them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import text

from registry import create_app
from registry.db.engine import create_sync_engine
from registry.settings import PolicySettings, Settings
from signing.keys import key_id, load_public_key
from signing.sbom import BomMetadata, generate_bom
from tests.support.oci_client import Oci
from tests.support.policy_files import (
    PolicyFiles,
    attach_signature,
    make_policy_files,
    push_version,
    sign_dir,
    write_model,
)
from tests.support.registry_helpers import bearer, safetensors_bytes
from tests.support.tokens import issue

CDX = "application/vnd.cyclonedx+json"
EMAIL = "Bob.Release@Example.COM"
WORKFLOW = "https://github.com/acme/rel/.github/workflows/release.yml@refs/heads/Main"
ISSUER = "https://token.actions.githubusercontent.com"


@dataclass(frozen=True)
class SignerSeed:
    admin: str
    #: Key ids (the OMS key hint) of the release keys, by name.
    key_ids: dict[str, str]
    #: Manifest digests: "1.0.0" (alice, mallory), "2.0.0" (bob).
    digests: dict[str, str]


def key_id_of(policy: PolicyFiles, name: str) -> str:
    return key_id(load_public_key(policy.key(name).with_suffix(".pub").read_bytes()))


@contextmanager
def policy_client(settings: Settings, policy: PolicyFiles) -> Iterator[TestClient]:  # type: ignore[type-arg]
    configured = dataclasses.replace(
        settings, policies=PolicySettings(trust=policy.trust, admission=policy.admission)
    )
    with TestClient(app=create_app(configured), base_url="http://127.0.0.1") as client:
        yield client


def seed_signers(client: Any, database_url: str, policy: PolicyFiles, tmp: Path) -> SignerSeed:
    admin = issue(database_url, "acme", "admin").secret
    oci = Oci(client, bearer(admin))
    digests = {}
    for version, signers, payload in (
        ("1.0.0", ("alice", "mallory"), b"\1" * 16),
        ("2.0.0", ("bob",), b"\2" * 16),
    ):
        files = {"model.safetensors": safetensors_bytes(payload)}
        model = write_model(tmp / f"model-{version}", files)
        subject = push_version(oci, model, version)
        for signer in signers:
            bundle = sign_dir(model, policy.key(signer))
            assert attach_signature(oci, subject, bundle).status_code == 201
        view = client.get(f"/api/v1/models/acme/model/versions/{version}", headers=oci.headers)
        digests[version] = view.json()["digest"]
        if version == "1.0.0":
            bom = generate_bom(model, BomMetadata(name="model", licenses=("Apache-2.0",)))
            attached = client.post(
                "/api/v1/models/acme/model/versions/1.0.0/sbom",
                content=bom.to_bytes(),
                headers={**oci.headers, "Content-Type": CDX},
            )
            assert attached.status_code == 201, attached.text
    plain = write_model(tmp / "plain", {"model.safetensors": safetensors_bytes(b"\3" * 16)})
    push_version(oci, plain, "1.0.0", name="acme/plain")
    names = ("alice", "bob", "carol", "mallory")
    return SignerSeed(admin, {n: key_id_of(policy, n) for n in names}, digests)


def add_identities(database_url: str, digest: str, principals: list[str]) -> None:
    """Add ``principals`` to the verified verdicts of the version ``digest``."""
    engine = create_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            rows = connection.execute(
                text(
                    "SELECT v.id, v.principals FROM signature_verifications v "
                    "JOIN manifests m ON m.id = v.subject_manifest_id "
                    "WHERE m.digest = :digest AND v.outcome = 'verified'"
                ),
                {"digest": digest},
            ).all()
            assert rows
            update = text(
                "UPDATE signature_verifications SET principals = :p WHERE id = :id"
                if database_url.startswith("sqlite")
                else "UPDATE signature_verifications SET principals = CAST(:p AS JSON) "
                "WHERE id = :id"
            )
            for row_id, stored in rows:
                current = json.loads(stored) if isinstance(stored, str) else list(stored)
                connection.execute(
                    update,
                    {"p": json.dumps(current + principals), "id": row_id},
                )
    finally:
        engine.dispose()


__all__ = [
    "EMAIL",
    "ISSUER",
    "WORKFLOW",
    "SignerSeed",
    "add_identities",
    "make_policy_files",
    "policy_client",
    "seed_signers",
]
