"""The model lifecycle API over the same rows the OCI API writes."""

from __future__ import annotations

import json

from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer, safetensors_bytes, sha256_digest

MODELPACK_CONFIG = "application/vnd.cncf.model.config.v1+json"


def _publish(oci: Oci, version: str, weights: bytes, name: str = "acme/model") -> bytes:
    config = json.dumps(
        {
            "descriptor": {"name": "m", "version": version},
            "config": {"format": "safetensors"},
            "modelfs": {"type": "layers", "diffIds": []},
        }
    ).encode()
    body = oci.manifest(
        [safetensors_bytes(weights), b'{"arch": "unet"}'],
        config=config,
        config_type=MODELPACK_CONFIG,
        artifact_type="application/vnd.cncf.model.manifest.v1+json",
        titles=["model.safetensors", "config.json"],
        name=name,
    )
    response = oci.put_manifest(version, body, name=name)
    assert response.status_code == 201, response.text
    return body


def test_version_view_knows_files_referrers_and_config(oci: Oci):
    body = _publish(oci, "1.0.0", b"weights-1")
    sig = oci.manifest(
        [b"bundle"],
        artifact_type="application/vnd.dev.sigstore.bundle.v0.3+json",
        subject={
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256_digest(body),
            "size": len(body),
        },
    )
    oci.put_manifest(sha256_digest(sig), sig)
    view = oci.client.get("/api/v1/models/acme/model/versions/1.0.0", headers=oci.headers)
    assert view.status_code == 200, view.text
    data = view.json()
    assert data["digest"] == sha256_digest(body)
    assert data["artifact_type"] == "application/vnd.cncf.model.manifest.v1+json"
    assert [(f["name"], f["format"], f["kind"], f["size"]) for f in data["files"]] == [
        ("model.safetensors", "safetensors", "weight", len(safetensors_bytes(b"weights-1"))),
        ("config.json", "json", "weight", len(b'{"arch": "unet"}')),
    ]
    assert data["config"]["config"]["format"] == "safetensors"
    assert [(r["digest"], r["kind"]) for r in data["referrers"]] == [
        (sha256_digest(sig), "signature")
    ]


def test_alias_moves_through_the_api_and_is_audited(oci: Oci):
    one = _publish(oci, "1.0.0", b"w1")
    two = _publish(oci, "1.1.0", b"w2")
    moved = oci.client.put(
        "/api/v1/models/acme/model/aliases/production",
        json={"version": "1.0.0"},
        headers=oci.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() == {
        "model": "acme/model",
        "alias": "production",
        "previous": None,
        "current": sha256_digest(one),
    }
    moved = oci.client.put(
        "/api/v1/models/acme/model/aliases/production",
        json={"digest": sha256_digest(two)},
        headers=oci.headers,
    )
    assert moved.json()["previous"] == sha256_digest(one)
    pulled = oci.client.get("/v2/acme/model/manifests/production", headers=oci.headers)
    assert pulled.content == two  # the same row, seen through /v2/
    aliases = oci.client.get("/api/v1/models/acme/model/aliases", headers=oci.headers).json()
    assert [(a["alias"], a["versions"]) for a in aliases] == [("production", ["1.1.0"])]
    audit = oci.client.get(
        "/api/v1/audit?namespace=acme&action=alias.move", headers=oci.headers
    ).json()["events"]
    assert [(e["detail"]["from"], e["detail"]["to"]) for e in audit] == [
        (None, sha256_digest(one)),
        (sha256_digest(one), sha256_digest(two)),
    ]
    assert audit[0]["subject"] == "acme/model:production"
    deleted = oci.client.delete("/api/v1/models/acme/model/aliases/production", headers=oci.headers)
    assert deleted.status_code == 204
    assert oci.client.get("/api/v1/models/acme/model/aliases", headers=oci.headers).json() == []


def test_alias_move_bad_input(oci: Oci, make_token):
    _publish(oci, "1.0.0", b"w1")
    url = "/api/v1/models/acme/model/aliases/"
    cases = [
        ("production", {"version": "9.9.9"}, 404),
        ("production", {}, 400),
        ("production", {"version": "1.0.0", "digest": sha256_digest(b"x")}, 400),
        ("production", {"digest": "sha256:nothex"}, 400),
        ("2.0.0", {"version": "1.0.0"}, 400),  # a version name is not an alias
        ("-bad", {"version": "1.0.0"}, 400),
    ]
    for alias, payload, status in cases:
        response = oci.client.put(url + alias, json=payload, headers=oci.headers)
        assert response.status_code == status, (alias, payload, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    reader = make_token(scopes="pull")
    denied = oci.client.put(
        url + "production", json={"version": "1.0.0"}, headers=bearer(reader.secret)
    )
    assert denied.status_code == 403


def test_listing_searching_and_pagination(oci: Oci, make_token, client):
    for name in ("acme/alpha", "acme/beta", "acme/gamma-onnx"):
        _publish(oci, "1.0.0", name.encode(), name=name)
    _publish(oci, "2.0.0", b"beta 2", name="acme/beta")
    listed = client.get("/api/v1/models?namespace=acme", headers=oci.headers).json()
    assert [m["name"] for m in listed["models"]] == ["acme/alpha", "acme/beta", "acme/gamma-onnx"]
    beta = next(m for m in listed["models"] if m["name"] == "acme/beta")
    assert (beta["versions"], beta["latest_version"]) == (2, "2.0.0")
    page = client.get("/api/v1/models?limit=2&offset=2", headers=oci.headers).json()
    assert [m["name"] for m in page["models"]] == ["acme/gamma-onnx"]
    assert page["page"] == {"total": 3, "limit": 2, "offset": 2}
    found = client.get("/api/v1/models?q=onnx", headers=oci.headers).json()
    assert [m["name"] for m in found["models"]] == ["acme/gamma-onnx"]
    by_type = client.get(
        "/api/v1/models",
        params={"media_type": "application/vnd.cncf.model.weight.v1.raw"},
        headers=oci.headers,
    ).json()
    assert by_type["page"]["total"] == 3
    none = client.get(
        "/api/v1/models", params={"media_type": "text/x-nothing"}, headers=oci.headers
    ).json()
    assert none["models"] == []
    versions = client.get("/api/v1/models/acme/beta/versions?limit=1", headers=oci.headers).json()
    assert [v["version"] for v in versions["versions"]] == ["1.0.0"]
    assert versions["page"]["total"] == 2

    # another namespace's token sees none of acme's models, anonymous sees none either
    other = make_token(namespace="globex", scopes="pull")
    assert client.get("/api/v1/models", headers=bearer(other.secret)).json()["models"] == []
    assert client.get("/api/v1/models").json()["models"] == []
    assert client.get("/api/v1/models/acme/alpha", headers=bearer(other.secret)).status_code == 403


def test_unknown_models_and_versions(oci: Oci):
    _publish(oci, "1.0.0", b"w")
    for url in ("/api/v1/models/acme/nothing", "/api/v1/models/acme/model/versions/3.0.0"):
        response = oci.client.get(url, headers=oci.headers)
        assert response.status_code == 404
        assert response.json()["status"] == 404
    bad = oci.client.get("/api/v1/models/ACME/Model", headers=oci.headers)
    assert bad.status_code == 400
