"""The registry verifies signatures itself, and promotes or serves only what policy allows.

Every refusal is audited: the event is written (not attempted), on both engines.
It is committed on the request's own session after the refused change is rolled
back (``registry.audit.service.refuse``); on SQLite a second connection would wait for
the write lock the request holds (re-verified verdicts, a stored manifest) and
lose the event, and the ``*_is_audited`` tests below would fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from litestar.testing import TestClient
from sqlalchemy import JSON, bindparam, text

from registry import create_app
from registry.db import migrate
from registry.db.engine import create_sync_engine
from registry.settings import PolicySettings, Settings
from signing.keys import key_id, legacy_key_id, load_public_key
from signing.sbom import BomMetadata, generate_bom
from signing.sign import sign_model
from signing.signers import KeySigner
from tests.support.oci_client import Oci, oci_code
from tests.support.policy_files import (
    PolicyFiles,
    attach_signature,
    make_policy_files,
    push_version,
    sign_dir,
    write_model,
)
from tests.support.registry_helpers import bearer, onnx_bytes, safetensors_bytes, sha256_digest
from verifier.trust import PRINCIPAL_FORMAT

CDX = "application/vnd.cyclonedx+json"
FILES = {
    "unet/model.safetensors": safetensors_bytes(b"\1" * 16),
    "text_encoder.onnx": onnx_bytes(64),
    "config.json": b'{"arch": "unet"}',
}


@pytest.fixture
def policy(tmp_path: Path) -> PolicyFiles:
    return make_policy_files(tmp_path / "policies")


@pytest.fixture
def client(settings: Settings, policy: PolicyFiles) -> Iterator[TestClient]:  # type: ignore[type-arg]
    configured = dataclasses.replace(
        settings, policies=PolicySettings(trust=policy.trust, admission=policy.admission)
    )
    with TestClient(app=create_app(configured), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def site(make_token) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(make_token(namespace="*", scopes="admin").secret)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_model(tmp_path / "model", FILES)


def _version(oci: Oci, version: str = "1.0.0") -> dict[str, Any]:
    response = oci.client.get(f"/api/v1/models/acme/model/versions/{version}", headers=oci.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _move(oci: Oci, alias: str, version: str = "1.0.0") -> Any:
    return oci.client.put(
        f"/api/v1/models/acme/model/aliases/{alias}", json={"version": version}, headers=oci.headers
    )


def _attach_sbom(oci: Oci, model: Path, license_id: str, version: str = "1.0.0") -> None:
    bom = generate_bom(model, BomMetadata(name="model", licenses=(license_id,))).to_bytes()
    response = oci.client.post(
        f"/api/v1/models/acme/model/versions/{version}/sbom",
        content=bom,
        headers={**oci.headers, "Content-Type": CDX},
    )
    assert response.status_code == 201, response.text


def test_a_signature_is_verified_on_arrival_and_shown_per_signature(oci, model, policy):
    subject = push_version(oci, model, "1.0.0")
    assert attach_signature(oci, subject, sign_dir(model, policy.key("alice"))).status_code == 201
    assert attach_signature(oci, subject, sign_dir(model, policy.key("mallory"))).status_code == 201
    signatures = _version(oci)["signatures"]
    assert [s["outcome"] for s in signatures] == ["verified", "failed"]
    assert signatures[0]["trusted_as"] == "alice" and signatures[0]["current"] is True
    assert signatures[0]["policy_digest"].startswith("sha256:")
    # The untrusted signature is kept as evidence, with the check that failed.
    assert signatures[1]["failed_check"] in {"signature", "identity"}
    assert signatures[1]["signer"] is None


def test_staging_with_one_signature_production_needs_two_distinct_keys(oci, model, policy):
    subject = push_version(oci, model, "1.0.0")
    refused = _move(oci, "staging")
    assert refused.status_code == 409
    assert "needs 1 distinct trusted signer" in refused.json()["detail"]

    attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
    assert _move(oci, "staging").status_code == 200

    # alice twice is still one signer; mallory does not count; no SBOM; every rule is listed.
    attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
    attach_signature(oci, subject, sign_dir(model, policy.key("mallory")))
    refused = _move(oci, "production")
    assert refused.status_code == 409
    failed = refused.json()["failed_rules"]
    assert len(failed) == 3, failed
    assert "needs 2 distinct trusted signer(s)" in failed[0] and "1 verified" in failed[0]
    assert "needs an SBOM" in failed[1]
    assert "licences cannot be checked" in failed[2]
    assert any("not counted" in note for note in refused.json()["notes"])

    _attach_sbom(oci, model, "MIT")
    attach_signature(oci, subject, sign_dir(model, policy.key("bob")))
    refused = _move(oci, "production")
    assert refused.status_code == 409
    (only_failure,) = refused.json()["failed_rules"]
    assert "['MIT'] not allowed" in only_failure

    _attach_sbom(oci, model, "Apache-2.0")
    # Two SBOMs: the MIT one is still attached, so the licence rule still fails.
    assert _move(oci, "production").status_code == 409


def test_production_allowed_once_two_keys_and_an_allowed_licence(oci, model, policy):
    subject = push_version(oci, model, "1.0.0")
    _attach_sbom(oci, model, "Apache-2.0")
    attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
    attach_signature(oci, subject, sign_dir(model, policy.key("bob")))
    moved = _move(oci, "production")
    assert moved.status_code == 200, moved.text
    audit = oci.client.get("/api/v1/audit?namespace=acme", headers=oci.headers).json()
    decisions = [e for e in audit["events"] if e["action"] == "alias.decision"]
    assert decisions and decisions[0]["detail"]["allowed"] is True
    assert decisions[0]["detail"]["policies"]["trust_policy"].startswith("sha256:")


def test_a_revoked_key_makes_a_strict_alias_stop_resolving(oci, client, model, policy, site):
    subject = push_version(oci, model, "1.0.0")
    _attach_sbom(oci, model, "Apache-2.0")
    attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
    attach_signature(oci, subject, sign_dir(model, policy.key("bob")))
    assert _move(oci, "production").status_code == 200
    headers = {**oci.headers, "Accept": "application/vnd.oci.image.manifest.v1+json"}
    assert client.get("/v2/acme/model/manifests/production", headers=headers).status_code == 200

    policy.write_trust(signers=("alice", "carol"))  # bob's key is revoked
    reloaded = client.post("/api/v1/policies/reload", headers=site)
    assert reloaded.status_code == 200, reloaded.text

    blocked = client.get("/v2/acme/model/manifests/production", headers=headers)
    assert blocked.status_code == 412
    assert oci_code(blocked) == "DENIED"
    assert "no longer satisfies policy" in blocked.json()["errors"][0]["message"]
    api = client.get("/api/v1/models/acme/model/aliases/production", headers=oci.headers)
    assert api.status_code == 412
    assert "needs 2 distinct trusted signer(s)" in api.json()["detail"]
    # Evidence stays readable: the version by digest, and its referrers.
    digest = sha256_digest(subject)
    assert client.get(f"/v2/acme/model/manifests/{digest}", headers=headers).status_code == 200
    referrers = client.get(f"/v2/acme/model/referrers/{digest}", headers=oci.headers)
    assert referrers.status_code == 200 and len(referrers.json()["manifests"]) == 3
    signatures = _version(oci)["signatures"]
    assert {s["trusted_as"] for s in signatures if s["outcome"] == "verified"} == {"alice"}


def test_a_non_strict_namespace_keeps_serving(tmp_path, settings, make_token, model):
    policy = make_policy_files(tmp_path / "lenient", strict=False)
    configured = dataclasses.replace(
        settings, policies=PolicySettings(trust=policy.trust, admission=policy.admission)
    )
    with TestClient(app=create_app(configured), base_url="http://127.0.0.1") as client:
        oci = Oci(client, bearer(make_token(scopes="admin").secret))
        subject = push_version(oci, model, "1.0.0")
        attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
        assert _move(oci, "staging").status_code == 200
        policy.write_trust(signers=("bob",))
        site = bearer(make_token(namespace="*", scopes="admin").secret)
        assert client.post("/api/v1/policies/reload", headers=site).status_code == 200
        resolved = client.get("/api/v1/models/acme/model/aliases/staging", headers=oci.headers)
        assert resolved.status_code == 200
        assert resolved.json()["signatures"][0]["outcome"] == "failed"


def test_a_pickle_file_is_refused_at_push(oci, tmp_path):
    pickled = write_model(tmp_path / "pickled", {"pytorch_model.bin": b"\x80\x04K\x01.", **FILES})
    paths = sorted(p for p in pickled.rglob("*") if p.is_file())
    body = oci.manifest(
        [p.read_bytes() for p in paths], titles=[p.relative_to(pickled).as_posix() for p in paths]
    )
    response = oci.put_manifest("1.0.0", body)
    assert response.status_code == 409
    message = response.json()["errors"][0]["message"]
    assert "pytorch_model.bin" in message and "pickle" in message and "admission rule" in message
    tags = oci.client.get("/v2/acme/model/tags/list", headers=oci.headers)
    assert tags.status_code == 404 or not tags.json()["tags"]
    audit = oci.client.get("/api/v1/audit?namespace=acme", headers=oci.headers).json()
    assert any(e["action"] == "push.refused" for e in audit["events"])


def test_bundle_for_other_content_or_other_files_does_not_verify(oci, model, policy, tmp_path):
    subject = push_version(oci, model, "1.0.0")
    other = write_model(tmp_path / "other", {**FILES, "config.json": b'{"arch": "vae"}'})
    fewer = write_model(tmp_path / "fewer", {k: v for k, v in FILES.items() if k != "config.json"})
    more = write_model(tmp_path / "more", {**FILES, "extra.json": b"{}"})
    for source in (other, fewer, more):
        attach_signature(oci, subject, sign_dir(source, policy.key("alice")))
    reasons = [(s["outcome"], s["failed_check"], s["reason"]) for s in _version(oci)["signatures"]]
    assert [r[:2] for r in reasons] == [("failed", "integrity")] * 3
    assert "changed: config.json" in reasons[0][2]
    assert "unsigned files of the version: config.json" in reasons[1][2]
    assert "not in the version: extra.json" in reasons[2][2]
    assert _move(oci, "staging").status_code == 409


def test_policy_check_is_a_dry_run(oci, model, policy):
    subject = push_version(oci, model, "1.0.0")
    attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
    url = "/api/v1/models/acme/model/versions/1.0.0/promotion-check"
    staging = oci.client.get(url, params={"alias": "staging"}, headers=oci.headers).json()
    assert staging["allowed"] is True and staging["verified_signers"]
    production = oci.client.get(url, params={"alias": "production"}, headers=oci.headers).json()
    assert production["allowed"] is False and len(production["failed_rules"]) == 3
    aliases = oci.client.get("/api/v1/models/acme/model/aliases", headers=oci.headers).json()
    assert aliases == []
    version_alias = oci.client.get(url, params={"alias": "2.0.0"}, headers=oci.headers)
    assert version_alias.status_code == 400


def test_a_broken_policy_reload_keeps_the_previous_policy(client, policy, site):
    before = client.get("/api/v1/policies", headers=site).json()
    policy.admission.write_text(
        "version: 1\nnamespaces:\n  - match: acme/*\n    aliasses: []\n"  # typo: unknown field
    )
    failed = client.post("/api/v1/policies/reload", headers=site)
    assert failed.status_code == 422
    assert "unknown field 'aliasses'" in failed.json()["detail"]
    assert "admission.yaml:4" in failed.json()["detail"]
    after = client.get("/api/v1/policies", headers=site).json()
    assert after["admission_policy"] == before["admission_policy"]
    assert "aliasses" in after["last_reload_error"]


def test_only_site_admins_reload_policies(client, oci):
    assert client.post("/api/v1/policies/reload", headers=oci.headers).status_code == 403


def test_another_namespaces_token_cannot_publish_or_promote(client, oci, model, policy, make_token):
    subject = push_version(oci, model, "1.0.0")
    attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
    attacker = Oci(client, bearer(make_token(namespace="evil", scopes="admin").secret))
    assert attacker.client.put(
        "/v2/acme/model/manifests/1.0.1", content=subject, headers=attacker.headers
    ).status_code in {401, 403}
    moved = attacker.client.put(
        "/api/v1/models/acme/model/aliases/staging",
        json={"version": "1.0.0"},
        headers=attacker.headers,
    )
    assert moved.status_code == 403


def test_promoting_a_digest_of_another_repository_is_refused(oci, model, policy):
    subject = push_version(oci, model, "1.0.0", name="acme/other")
    push_version(oci, model, "1.0.0")
    moved = oci.client.put(
        "/api/v1/models/acme/model/aliases/staging",
        json={"digest": sha256_digest(subject + b" ")},
        headers=oci.headers,
    )
    assert moved.status_code == 404
    other = write_model(Path(str(policy.root)) / "m2", {"weights.safetensors": safetensors_bytes()})
    foreign = push_version(oci, other, "2.0.0", name="acme/other")
    moved = oci.client.put(
        "/api/v1/models/acme/model/aliases/staging",
        json={"digest": sha256_digest(foreign)},
        headers=oci.headers,
    )
    assert moved.status_code == 404
    assert "acme/model has no manifest" in moved.json()["detail"]


def test_an_alias_named_like_a_version_is_refused(oci, model):
    push_version(oci, model, "1.0.0")
    assert _move(oci, "2.0.0").status_code == 400


def test_a_bundle_naming_a_file_outside_the_model_never_verifies(tmp_path, settings, make_token):
    asset = (
        Path(__file__).resolve().parents[2]
        / "assets/signing/model-signing-escape-via-ignore-unsigned"
    )
    trust = tmp_path / "trust.yaml"
    trust.write_text(
        "version: 1\nnamespaces:\n"
        "  - match: legacy/*\n    signers:\n"
        f"      - {{name: old, public_key: {asset / 'key.pub'}}}\n"
    )
    admission = tmp_path / "admission.yaml"
    admission.write_text("version: 1\nnamespaces:\n  - match: legacy/*\n    formats: [pickle]\n")
    configured = dataclasses.replace(
        settings, policies=PolicySettings(trust=trust, admission=admission)
    )
    with TestClient(app=create_app(configured), base_url="http://127.0.0.1") as client:
        oci = Oci(client, bearer(make_token(namespace="legacy", scopes="admin").secret))
        subject = push_version(oci, asset / "model", "1.0.0", name="legacy/model")
        attached = attach_signature(
            oci, subject, (asset / "model.sig").read_bytes(), "legacy/model"
        )
        assert attached.status_code == 201  # the evidence is kept
        view = client.get("/api/v1/models/legacy/model/versions/1.0.0", headers=oci.headers)
        (signature,) = view.json()["signatures"]
        assert signature["outcome"] == "failed"
        assert signature["failed_check"] in {"path", "paths", "bundle"}, signature


# Every refusal is audited.


def _events(oci: Oci, action: str) -> list[dict[str, Any]]:
    response = oci.client.get(f"/api/v1/audit?namespace=acme&action={action}", headers=oci.headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_a_push_refused_by_admission_is_audited_and_stores_nothing(oci):
    body = oci.manifest([b"\x80\x04K\x01."], titles=["pytorch_model.bin"])
    refused = oci.put_manifest("1.0.0", body)
    assert refused.status_code == 409, refused.text
    (event,) = _events(oci, "push.refused")
    assert event["subject"] == "acme/model"
    assert "pickle" in event["detail"]["failed_rules"][0]
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


def _stored_principals(url: str) -> list[tuple[list[str], int]]:
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT principals, principal_format FROM signature_verifications ORDER BY id"
                ).columns(principals=JSON)
            ).all()
    finally:
        engine.dispose()
    return [(list(r[0]), int(r[1])) for r in rows]


def test_a_verdict_stored_with_a_der_key_id_is_re_verified_after_the_upgrade(
    oci, model, policy, settings
):
    """One key, two signatures: a verdict spelt ``key:<DER id>`` before the key-id change
    must not count as a second signer beside the same key's ``key:<OMS hint>``."""
    subject = push_version(oci, model, "1.0.0")
    _attach_sbom(oci, model, "Apache-2.0")
    attach_signature(oci, subject, sign_dir(model, policy.key("alice")))
    alice = load_public_key(Path(f"{policy.key('alice')}.pub").read_bytes())
    legacy = f"key:{legacy_key_id(alice)}"
    # The database as the previous release left it: migrations up to 0007, DER principals.
    url = settings.effective_database_url
    command.downgrade(migrate.alembic_config(url), "0007")
    engine = create_sync_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE signature_verifications SET principals = :p").bindparams(
                    bindparam("p", type_=JSON)
                ),
                {"p": [legacy]},
            )
    finally:
        engine.dispose()
    migrate.upgrade(url)
    assert _stored_principals(url) == [([legacy], 0)]

    # The same key signs again (another bundle: Ed25519 is deterministic, so vary the content).
    again = sign_model(model, KeySigner.from_pem_file(policy.key("alice")), ignore_git_paths=False)
    assert attach_signature(oci, subject, again.bundle.to_bytes()).status_code == 201
    refused = _move(oci, "production")
    assert refused.status_code == 409, refused.text
    (only_failure,) = refused.json()["failed_rules"]
    assert "needs 2 distinct trusted signer(s)" in only_failure and "1 verified" in only_failure
    assert [s["current"] for s in _version(oci)["signatures"]] == [True, True]
    current = ([f"key:{key_id(alice)}"], PRINCIPAL_FORMAT)
    assert _stored_principals(url) == [current, current]
