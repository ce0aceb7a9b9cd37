"""The hub's refusals leave an audit event (``hub.*.refused``), written on both engines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.registry.hub.conftest import Keys, generate, png, push_version
from tests.support.registry_helpers import bearer
from tests.support.text_edit import edit_once


@pytest.fixture
def pusher(make_token):  # type: ignore[no-untyped-def]
    return bearer(make_token(scopes="pull,push").secret)


@pytest.fixture
def admin(make_token):  # type: ignore[no-untyped-def]
    return bearer(make_token(scopes="admin").secret)


@pytest.fixture
def model(hub_oci, keys, tmp_path) -> str:  # type: ignore[no-untyped-def]
    return push_version(hub_oci, signer=keys.release, root=tmp_path)


def _events(hub: TestClient, admin: dict[str, str], action: str) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    response = hub.get(f"/api/v1/audit?namespace=acme&action={action}", headers=admin)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_a_registration_refused_by_a_trust_check_is_audited(hub, keys, model, pusher, admin):
    gen = generate(keys, model, node=keys.stranger)
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert response.status_code == 422, response.text
    (event,) = _events(hub, admin, "hub.register.refused")
    assert event["detail"]["check"] == "untrusted-node"
    assert event["subject"] == f"image:{gen.digest}"


def test_a_rival_registration_is_audited(hub, keys, model, pusher, admin):
    gen = generate(keys, model)
    assert hub.post("/api/v1/outputs", files=gen.files(), headers=pusher).status_code == 201
    rival = generate(keys, model, image=gen.image, terms=("reprint-allowed",))
    assert hub.post("/api/v1/outputs", files=rival.files(), headers=pusher).status_code == 409
    (event,) = _events(hub, admin, "hub.register.refused")
    assert event["detail"]["check"] == "duplicate"
    assert event["subject"] == f"image:{gen.digest}"


def test_a_refused_registration_after_a_trust_policy_reload_is_audited(
    hub, hub_settings, keys, model, pusher, admin, make_token
):
    """The model's verdict is re-verified (a write) before the registration is refused."""
    trust: Path = hub_settings.policies.trust
    edit_once(trust, "name: release", "name: retired")
    site = bearer(make_token(namespace="*", scopes="admin").secret)
    assert hub.post("/api/v1/policies/reload", headers=site).status_code == 200
    # Still trusted under the new policy (another digest): verdicts are re-verified, then logged.
    first = generate(keys, model, image=png(seed=1))
    accepted = hub.post("/api/v1/outputs", files=first.files(), headers=pusher)
    assert accepted.status_code == 201, accepted.text

    edit_once(trust, 'match: "acme/**"', 'match: "nobody/**"')
    assert hub.post("/api/v1/policies/reload", headers=site).status_code == 200
    gen = generate(keys, model, image=png(seed=2))
    response = hub.post("/api/v1/outputs", files=gen.files(), headers=pusher)
    assert response.status_code == 422, response.text
    (event,) = _events(hub, admin, "hub.register.refused")
    assert event["detail"]["check"] == "model-signature"


def test_a_reprint_refused_by_its_terms_is_audited(hub, keys: Keys, model, pusher, admin):
    gen = generate(keys, model, terms=("no-reprint",))
    assert hub.post("/api/v1/outputs", files=gen.files(), headers=pusher).status_code == 201
    body = json.dumps({"reprinter": "daily-planet"}).encode()
    response = hub.post(
        "/api/v1/reprints",
        files={
            "request": ("request.json", body, "application/json"),
            "image": ("image.png", gen.image, "image/png"),
        },
        headers=pusher,
    )
    assert response.status_code == 403, response.text
    (event,) = _events(hub, admin, "hub.reprint.refused")
    assert event["detail"]["check"] == "terms"
    assert event["subject"] == f"image:{gen.digest}"
