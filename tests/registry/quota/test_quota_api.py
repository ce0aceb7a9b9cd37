"""The quota through ``/api/v1/namespaces``, the metrics, and a JSON API refusal's problem body."""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from typing import Any

import pytest

from signing.sbom import BomMetadata, generate_bom
from tests.registry.quota.conftest import QuotaWorld
from tests.support.registry_helpers import sha256_digest

CDX = "application/vnd.cyclonedx+json"


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_set_show_and_clear_the_quota(world: QuotaWorld) -> None:
    shown = world.client.get("/api/v1/namespaces/acme", headers=world.oci.headers).json()
    assert (shown["quota_bytes"], shown["used_bytes"]) == (None, 0)

    world.oci.push_blob(os.urandom(700))
    view = world.set_quota("acme", 10 * 1024**3)
    assert (view["quota_bytes"], view["used_bytes"]) == (10 * 1024**3, 700)
    # A reader of the namespace sees the quota and the usage too.
    shown = world.client.get("/api/v1/namespaces/acme", headers=world.oci.headers).json()
    assert (shown["quota_bytes"], shown["used_bytes"], shown["name"]) == (10 * 1024**3, 700, "acme")

    # Fields left out are left as they are.
    patched = world.client.patch(
        "/api/v1/namespaces/acme", json={"anonymous_pull": True}, headers=world.oci.headers
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["anonymous_pull"], patched.json()["quota_bytes"]) == (True, 10 * 1024**3)

    assert world.set_quota("acme", None)["quota_bytes"] is None
    actions = [
        (e["detail"]["quota_bytes"], e["detail"]["previous"])
        for e in world.events("namespace.quota")
    ]
    assert actions == [(10 * 1024**3, None), (None, 10 * 1024**3)]


def test_only_a_site_admin_changes_a_quota(world: QuotaWorld) -> None:
    # The namespace's own admin may not raise (or set) its quota, as in Harbor.
    denied = world.client.patch(
        "/api/v1/namespaces/acme", json={"quota_bytes": 1}, headers=world.oci.headers
    )
    problem = _problem(denied, 403)
    assert "site admin" in problem["detail"]
    anonymous = world.client.patch("/api/v1/namespaces/acme", json={"quota_bytes": 1})
    _problem(anonymous, 401)
    assert (
        world.client.get("/api/v1/namespaces/acme", headers=world.site).json()["quota_bytes"]
        is None
    )
    assert world.events("namespace.quota") == []


@pytest.mark.parametrize(
    "body",
    [
        {"quota_bytes": -1},
        {"quota_bytes": "10GiB"},
        {"quota_bytes": 1.5},
        {"quota_bytes": 2**63},
        {"quota": 10},
        [],
    ],
)
def test_bad_quota_bodies_are_400_problems(world: QuotaWorld, body: Any) -> None:
    response = world.client.patch(
        "/api/v1/namespaces/acme",
        content=json.dumps(body),
        headers={**world.site, "Content-Type": "application/json"},
    )
    _problem(response, 400)


def test_an_unknown_namespace_is_404(world: QuotaWorld) -> None:
    response = world.client.patch(
        "/api/v1/namespaces/nowhere", json={"quota_bytes": 5}, headers=world.site
    )
    _problem(response, 404)


def _gauge(text: str, name: str, namespace: str) -> float | None:
    match = re.search(rf'^{name}\{{namespace="{namespace}"\}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_usage_and_quota_are_gauges(world: QuotaWorld) -> None:
    shared = os.urandom(1000)
    world.oci.push_blob(shared, "acme/one")
    world.oci.push_blob(shared, "acme/two")
    world.set_quota("acme", 4096)
    text = world.client.get("/metrics").text
    assert _gauge(text, "custody_namespace_storage_bytes", "acme") == 1000
    assert _gauge(text, "custody_namespace_storage_bytes", "beta") == 0
    assert _gauge(text, "custody_namespace_quota_bytes", "acme") == 4096
    assert _gauge(text, "custody_namespace_quota_bytes", "beta") is None  # no quota, no sample

    world.set_quota("acme", None)
    world.oci.push_blob(os.urandom(24), "acme/two")
    text = world.client.get("/metrics").text
    assert _gauge(text, "custody_namespace_storage_bytes", "acme") == 1024
    assert _gauge(text, "custody_namespace_quota_bytes", "acme") is None


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}})
    return struct.pack("<Q", len(header)) + header.encode() + bytes(16)


def test_an_sbom_attach_over_quota_is_a_problem_and_stores_nothing(
    world: QuotaWorld, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(_safetensors())
    (model / "config.json").write_text('{"arch": "unet"}')
    files = sorted(model.iterdir())
    body = world.oci.manifest([p.read_bytes() for p in files], titles=[p.name for p in files])
    assert world.oci.put_manifest("1.0.0", body).status_code == 201
    used = world.used()
    world.set_quota("acme", used + 100)  # room for less than the BOM
    bom = generate_bom(model, BomMetadata(name="model")).to_bytes()
    assert len(bom) > 100

    refused = world.client.post(
        "/api/v1/models/acme/model/versions/1.0.0/sbom",
        content=bom,
        headers={**world.oci.headers, "Content-Type": CDX},
    )
    problem = _problem(refused, 409)
    assert problem["code"] == "DENIED" and problem["title"] == "Storage quota exceeded"
    assert (problem["namespace"], problem["quota_bytes"], problem["used_bytes"]) == (
        "acme",
        used + 100,
        used,
    )
    assert problem["requested_bytes"] > len(bom)  # the BOM and its referrer manifest
    assert "quota" in problem["detail"]
    assert not world.has_blob(sha256_digest(bom))
    assert world.used() == used
    assert world.events("sbom.attach.refused")[0]["detail"]["quota_bytes"] == used + 100
