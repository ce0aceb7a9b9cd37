"""Every refusal is audited: the event is written (not attempted), on both engines.

The refusal's event is committed on the request's own session after the refused
change is rolled back (``registry.audit.refuse``). On SQLite a second connection
would wait for the write lock the request holds (re-verified verdicts, a stored
manifest) and lose the event: these tests fail if any refusal takes that route.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from registry import create_app
from registry.settings import Settings
from tests.registry.helpers import bearer, onnx_bytes, safetensors_bytes, sha256_digest
from tests.registry.oci_client import Oci, oci_code
from tests.registry.policy_support import (
    PolicyFiles,
    attach_signature,
    make_policy_files,
    push_version,
    sign_dir,
    write_model,
)

FILES = {
    "unet/model.safetensors": safetensors_bytes(b"\2" * 16),
    "text_encoder.onnx": onnx_bytes(32),
    "config.json": b'{"arch": "unet"}',
}


@pytest.fixture
def policy(tmp_path: Path) -> PolicyFiles:
    return make_policy_files(tmp_path / "policies")


@pytest.fixture
def client(settings: Settings, policy: PolicyFiles) -> Iterator[TestClient]:  # type: ignore[type-arg]
    configured = dataclasses.replace(
        settings, trust_policy=policy.trust, admission_policy=policy.admission
    )
    with TestClient(app=create_app(configured), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def site(make_token) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(make_token(namespace="*", scopes="admin").secret)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / "model", FILES)


def _events(oci: Oci, action: str) -> list[dict[str, Any]]:
    response = oci.client.get(f"/api/v1/audit?namespace=acme&action={action}", headers=oci.headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _move(oci: Oci, alias: str, version: str = "1.0.0") -> Any:
    return oci.client.put(
        f"/api/v1/models/acme/model/aliases/{alias}", json={"version": version}, headers=oci.headers
    )


def test_a_push_refused_by_admission_is_audited_and_stores_nothing(oci, tmp_path):
    pickled = write_model(tmp_path / "pickled", {"pytorch_model.bin": b"\x80\x04K\x01."})
    body = oci.manifest([b"\x80\x04K\x01."], titles=["pytorch_model.bin"])
    refused = oci.put_manifest("1.0.0", body)
    assert refused.status_code == 409, refused.text
    (event,) = _events(oci, "push.refused")
    assert event["subject"] == "acme/model"
    assert "pickle" in event["detail"]["failed_rules"][0]
    assert pickled.exists()
    missing = oci.client.get(f"/v2/acme/model/manifests/{sha256_digest(body)}", headers=oci.headers)
    assert missing.status_code == 404


def test_an_alias_move_refused_by_policy_is_audited(oci, model, policy):
    push_version(oci, model, "1.0.0")
    assert _move(oci, "staging").status_code == 409
    (event,) = _events(oci, "alias.refused")
    assert event["subject"] == "acme/model:staging"
    assert event["detail"]["allowed"] is False
    assert "needs 1 distinct trusted signer" in event["detail"]["failed_rules"][0]


def test_an_alias_push_refused_by_policy_is_audited_and_rolled_back(oci, model):
    body = oci.manifest([safetensors_bytes(b"\3" * 8)], titles=["weights.safetensors"])
    refused = oci.put_manifest("staging", body)
    assert refused.status_code == 409, refused.text
    assert _events(oci, "push.refused") == []
    assert oci_code(refused) == "DENIED"
    (event,) = _events(oci, "alias.refused")
    assert event["detail"]["target"] == sha256_digest(body)
    # The manifest pushed with the refused tag is rolled back with it: nothing half-stored.
    by_digest = oci.client.get(
        f"/v2/acme/model/manifests/{sha256_digest(body)}", headers=oci.headers
    )
    assert oci_code(by_digest) in {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"}
    assert _events(oci, "manifest.push") == []


def test_the_first_refused_move_after_a_policy_reload_is_audited(oci, client, model, policy, site):
    """The move re-verifies the stored verdict (a write) before it is refused."""
    subject = push_version(oci, model, "1.0.0")
    attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
    assert _move(oci, "staging").status_code == 200
    policy.write_trust(signers=("bob",))  # alice is no longer trusted
    assert client.post("/api/v1/policies/reload", headers=site).status_code == 200

    refused = oci.client.delete("/api/v1/models/acme/model/aliases/staging", headers=oci.headers)
    assert refused.status_code == 204  # removing an alias is always allowed
    moved = _move(oci, "staging")
    assert moved.status_code == 409, moved.text
    (event,) = _events(oci, "alias.refused")
    assert "0 verified" in event["detail"]["failed_rules"][0]
    # The re-verified verdict was rolled back with the refused move; the next read redoes it.
    view = oci.client.get("/api/v1/models/acme/model/versions/1.0.0", headers=oci.headers)
    assert [s["outcome"] for s in view.json()["signatures"]] == ["failed"]
    assert _move(oci, "staging").status_code == 409
    assert len(_events(oci, "alias.refused")) == 2


def test_a_signature_that_fails_verification_is_kept_and_audited(oci, model, policy):
    subject = push_version(oci, model, "1.0.0")
    stored = attach_signature(oci, subject, sign_dir(model, policy.key("mallory")))
    assert stored.status_code == 201
    (event,) = _events(oci, "signature.verify")
    assert event["detail"]["outcome"] == "failed"
    assert event["detail"]["check"] in {"signature", "identity"}
    assert event["subject"] == f"acme/model@{sha256_digest(subject)}"
