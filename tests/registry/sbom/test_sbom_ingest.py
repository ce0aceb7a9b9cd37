"""SBOMs attached to versions: validated, bound to the version's bytes, indexed, searchable."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from signing.sbom import BomMetadata, Dataset, generate_bom
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer, sha256_digest

CDX = "application/vnd.cyclonedx+json"


def _safetensors(dtype: str = "F32") -> bytes:
    size = {"F32": 16, "F16": 8}[dtype]
    header = json.dumps({"w": {"dtype": dtype, "shape": [2, 2], "data_offsets": [0, size]}})
    return struct.pack("<Q", len(header)) + header.encode() + bytes(size)


def _model(tmp_path: Path, weights: bytes) -> Path:
    model = tmp_path / "model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "model.safetensors").write_bytes(weights)
    (model / "config.json").write_text('{"arch": "unet"}')
    return model


def _publish(oci: Oci, model: Path, version: str, name: str = "acme/model") -> bytes:
    files = sorted(p for p in model.iterdir())
    body = oci.manifest([p.read_bytes() for p in files], titles=[p.name for p in files], name=name)
    assert oci.put_manifest(version, body, name=name).status_code == 201
    return body


def _bom(model: Path, **metadata: object) -> bytes:
    return generate_bom(model, BomMetadata(name="model", **metadata)).to_bytes()  # type: ignore[arg-type]


def _attach(oci: Oci, version: str, data: bytes, name: str = "acme/model"):  # type: ignore[no-untyped-def]
    return oci.client.post(
        f"/api/v1/models/{name}/versions/{version}/sbom",
        content=data,
        headers={**oci.headers, "Content-Type": CDX},
    )


def test_attach_bind_index_and_search(oci: Oci, tmp_path):
    model = _model(tmp_path, _safetensors())
    _publish(oci, model, "1.0.0")
    data = _bom(
        model,
        licenses=("Apache-2.0",),
        supplier="Acme",
        datasets=(Dataset("laion-5b", sha256="ab" * 32),),
    )
    response = _attach(oci, "1.0.0", data)
    assert response.status_code == 201, response.text
    attached = response.json()
    assert attached["sbom_digest"] == sha256_digest(data)  # stored unchanged
    assert attached["binding"] in {"files", "files+root"}
    assert "Apache-2.0" in attached["summary"]["licenses"]

    stored = oci.client.get(f"/v2/acme/model/blobs/{sha256_digest(data)}", headers=oci.headers)
    assert stored.content == data
    view = oci.client.get("/api/v1/models/acme/model/versions/1.0.0", headers=oci.headers).json()
    assert view["sbom"]["digest"] == sha256_digest(data)
    assert view["sbom"]["tensor_dtypes"] == ["F32"]
    assert [r["kind"] for r in view["referrers"]] == ["sbom"]

    def search(**params: str) -> list[str]:
        found = oci.client.get("/api/v1/versions", params=params, headers=oci.headers)
        assert found.status_code == 200, found.text
        return [f"{v['model']}:{v['version']}" for v in found.json()["versions"]]

    assert search(license="Apache-2.0") == ["acme/model:1.0.0"]
    assert search(license="MIT") == []
    assert search(dataset="laion-5b") == ["acme/model:1.0.0"]
    assert search(dtype="F32", license="Apache-2.0") == ["acme/model:1.0.0"]
    weights_digest = sha256_digest(_safetensors())
    assert search(component=weights_digest) == ["acme/model:1.0.0"]
    assert search(component="sha256:" + "ab" * 32) == ["acme/model:1.0.0"]  # the dataset's hash
    bad = oci.client.get("/api/v1/versions", params={"opset": "latest"}, headers=oci.headers)
    assert bad.status_code == 400
    assert oci.client.get("/api/v1/versions", headers=oci.headers).status_code == 400


def test_sbom_pushed_as_an_oci_referrer_is_ingested(oci: Oci, tmp_path):
    model = _model(tmp_path, _safetensors("F16"))
    subject_body = _publish(oci, model, "2.0.0")
    data = _bom(model, licenses=("MIT",))
    referrer = oci.manifest(
        [data],
        artifact_type=CDX,
        subject={
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256_digest(subject_body),
            "size": len(subject_body),
        },
    )
    response = oci.put_manifest(sha256_digest(referrer), referrer)
    assert response.status_code == 201, response.text
    view = oci.client.get("/api/v1/models/acme/model/versions/2.0.0", headers=oci.headers).json()
    assert view["sbom"]["licenses"] == ["MIT"]


def test_referrer_with_a_bom_for_other_bytes_is_refused(oci: Oci, tmp_path):
    model = _model(tmp_path, _safetensors())
    subject_body = _publish(oci, model, "1.0.0")
    other = _model(tmp_path / "other", _safetensors("F16"))
    referrer = oci.manifest(
        [_bom(other)],
        artifact_type=CDX,
        subject={
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256_digest(subject_body),
            "size": len(subject_body),
        },
    )
    response = oci.put_manifest(sha256_digest(referrer), referrer)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "MANIFEST_INVALID"
    assert "model.safetensors" in error["message"]
    listed = oci.client.get(
        f"/v2/acme/model/referrers/{sha256_digest(subject_body)}", headers=oci.headers
    )
    assert listed.json()["manifests"] == []  # nothing half-stored


def _cdx(spec: str = "1.6", **extra: object) -> bytes:
    return json.dumps(
        {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1, **extra}
    ).encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"not json {", "JSON"),
        (b'{"spdxVersion": "SPDX-2.3"}', "CycloneDX"),
        (b'<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>', "JSON"),
        (_cdx("1.2"), "1.2"),
        (_cdx("2.0"), "2.0"),
        (_cdx(components=[{"type": "not-a-type", "name": "x"}]), "/components/0"),
        (_cdx(), "machine-learning-model"),  # valid, but describes no model
        (  # a model with no hashes: nothing binds it to the version's bytes
            _cdx(metadata={"component": {"type": "machine-learning-model", "name": "m"}}),
            "hash",
        ),
        (b'{"bomFormat": "CycloneDX", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "deep"),
        (
            _cdx(
                components=[
                    {"type": "library", "name": "a", "bom-ref": "x"},
                    {"type": "library", "name": "b", "bom-ref": "x"},
                ]
            ),
            "bom-ref",
        ),
    ],
)
def test_bad_sboms_are_refused_with_the_reason(oci: Oci, tmp_path, data, expected):
    model = _model(tmp_path, _safetensors())
    _publish(oci, model, "1.0.0")
    response = _attach(oci, "1.0.0", data)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert expected.lower() in response.json()["detail"].lower(), response.json()["detail"]
    view = oci.client.get("/api/v1/models/acme/model/versions/1.0.0", headers=oci.headers).json()
    assert view["sbom"] is None and view["referrers"] == []


def test_bom_for_other_bytes_names_the_first_difference(oci: Oci, tmp_path):
    model = _model(tmp_path, _safetensors())
    _publish(oci, model, "1.0.0")
    other = _model(tmp_path / "other", _safetensors("F16"))
    response = _attach(oci, "1.0.0", _bom(other))
    assert response.status_code == 400
    assert "model.safetensors" in response.json()["detail"]


def test_sbom_over_the_size_limit(oci: Oci, tmp_path):
    model = _model(tmp_path, _safetensors())
    _publish(oci, model, "1.0.0")
    response = _attach(oci, "1.0.0", b" " * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert "CUSTODY_MAX_SBOM_BYTES" in response.json()["detail"]


def test_sbom_needs_push_and_an_existing_version(oci: Oci, tmp_path, make_token):
    model = _model(tmp_path, _safetensors())
    _publish(oci, model, "1.0.0")
    data = _bom(model)
    assert _attach(oci, "9.9.9", data).status_code == 404
    reader = make_token(scopes="pull")
    denied = oci.client.post(
        "/api/v1/models/acme/model/versions/1.0.0/sbom", content=data, headers=bearer(reader.secret)
    )
    assert denied.status_code == 403
    assert hashlib.sha256(data).hexdigest()  # the BOM itself was fine
