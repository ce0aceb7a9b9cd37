"""OCI conformance, content discovery and content management; Custody's version rules."""

from __future__ import annotations

import json

import pytest

from tests.support.oci_client import OCI_INDEX, Oci, descriptor_of, oci_code
from tests.support.registry_helpers import bearer, safetensors_bytes, sha256_digest

SBOM_TYPE = "application/vnd.example.report+json"  # generic: real SBOMs are validated
SIG_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def test_tags_list_with_pagination(oci: Oci):
    body = oci.manifest([b"w"])
    for tag in ["1.0.0", "1.1.0", "2.0.0", "latest", "staging"]:
        assert oci.put_manifest(tag, body).status_code == 201
    everything = oci.client.get("/v2/acme/model/tags/list", headers=oci.headers).json()
    assert everything == {
        "name": "acme/model",
        "tags": ["1.0.0", "1.1.0", "2.0.0", "latest", "staging"],
    }
    page = oci.client.get("/v2/acme/model/tags/list?n=2", headers=oci.headers)
    assert page.json()["tags"] == ["1.0.0", "1.1.0"]
    assert page.headers["link"] == '</v2/acme/model/tags/list?n=2&last=1.1.0>; rel="next"'
    page = oci.client.get("/v2/acme/model/tags/list?n=2&last=1.1.0", headers=oci.headers)
    assert page.json()["tags"] == ["2.0.0", "latest"]
    last = oci.client.get("/v2/acme/model/tags/list?n=2&last=latest", headers=oci.headers)
    assert last.json()["tags"] == ["staging"]
    assert "link" not in last.headers
    assert oci.client.get("/v2/acme/model/tags/list?n=0", headers=oci.headers).json()["tags"] == []
    assert oci_code(oci.client.get("/v2/acme/model/tags/list?n=x", headers=oci.headers))
    assert (
        oci_code(oci.client.get("/v2/acme/none/tags/list", headers=oci.headers)) == "NAME_UNKNOWN"
    )


def test_referrers_filtered_and_unfiltered(oci: Oci):
    subject_body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", subject_body).status_code == 201
    subject = descriptor_of(subject_body)
    sbom = oci.manifest([b'{"bomFormat":"CycloneDX"}'], artifact_type=SBOM_TYPE, subject=subject)
    signature = oci.manifest([b"bundle"], config_type=SIG_TYPE, subject=subject)
    for body in (sbom, signature):
        response = oci.put_manifest(sha256_digest(body), body)
        assert response.status_code == 201, response.text
        assert response.headers["oci-subject"] == subject["digest"]

    url = f"/v2/acme/model/referrers/{subject['digest']}"
    everything = oci.client.get(url, headers=oci.headers)
    assert everything.status_code == 200
    assert everything.headers["content-type"] == OCI_INDEX
    index = everything.json()
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == OCI_INDEX
    types = {d["digest"]: d["artifactType"] for d in index["manifests"]}
    # artifactType falls back to the config media type when the manifest has none
    assert types == {sha256_digest(sbom): SBOM_TYPE, sha256_digest(signature): SIG_TYPE}
    assert "oci-filters-applied" not in everything.headers

    filtered = oci.client.get(url, params={"artifactType": SBOM_TYPE}, headers=oci.headers)
    assert filtered.headers["oci-filters-applied"] == "artifactType"
    assert [d["digest"] for d in filtered.json()["manifests"]] == [sha256_digest(sbom)]
    for d in filtered.json()["manifests"]:
        assert d["size"] == len(sbom)


def test_referrers_of_unknown_subject_is_an_empty_index(oci: Oci):
    oci.push_blob(b"repository exists")
    response = oci.client.get(
        f"/v2/acme/model/referrers/{sha256_digest(b'nothing')}", headers=oci.headers
    )
    assert response.status_code == 200
    assert response.json()["manifests"] == []


def test_referrers_with_a_malformed_digest(oci: Oci):
    response = oci.client.get("/v2/acme/model/referrers/sha256:nothex", headers=oci.headers)
    assert oci_code(response) == "DIGEST_INVALID"


def test_subject_pointing_at_a_missing_manifest_is_accepted(oci: Oci):
    ghost = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": sha256_digest(b"not pushed yet"),
        "size": 14,
    }
    body = oci.manifest([b"sig"], artifact_type=SIG_TYPE, subject=ghost)
    response = oci.put_manifest(sha256_digest(body), body)
    assert response.status_code == 201
    assert response.headers["oci-subject"] == ghost["digest"]
    listed = oci.client.get(f"/v2/acme/model/referrers/{ghost['digest']}", headers=oci.headers)
    assert [d["digest"] for d in listed.json()["manifests"]] == [sha256_digest(body)]


def test_image_index_needs_its_manifests(oci: Oci):
    child = oci.manifest([b"w"])
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor_of(child)]}
    ).encode()
    put = oci.client.put(
        "/v2/acme/model/manifests/bundle",
        content=index,
        headers={**oci.headers, "Content-Type": OCI_INDEX},
    )
    assert oci_code(put) == "MANIFEST_BLOB_UNKNOWN"
    assert oci.put_manifest(sha256_digest(child), child).status_code == 201
    put = oci.client.put(
        "/v2/acme/model/manifests/bundle",
        content=index,
        headers={**oci.headers, "Content-Type": OCI_INDEX},
    )
    assert put.status_code == 201, put.text


def test_versions_are_immutable(oci: Oci):
    first = oci.manifest([b"v1 weights"])
    second = oci.manifest([b"v1 weights, changed"])
    assert oci.put_manifest("1.4.0", first).status_code == 201
    assert oci.put_manifest("1.4.0", first).status_code == 201  # same bytes: idempotent
    moved = oci.put_manifest("1.4.0", second)
    assert moved.status_code == 409
    assert moved.json()["errors"][0]["code"] == "DENIED"
    assert "immutable" in moved.json()["errors"][0]["message"]
    still = oci.client.get("/v2/acme/model/manifests/1.4.0", headers=oci.headers)
    assert still.content == first

    by_tag = oci.client.delete("/v2/acme/model/manifests/1.4.0", headers=oci.headers)
    assert by_tag.status_code == 409
    by_digest = oci.client.delete(
        f"/v2/acme/model/manifests/{sha256_digest(first)}", headers=oci.headers
    )
    assert by_digest.status_code == 409
    assert oci.client.get("/v2/acme/model/manifests/1.4.0", headers=oci.headers).status_code == 200
    # nor can its files be unlinked from under it
    layer = json.loads(first)["layers"][0]["digest"]
    unlink = oci.client.delete(f"/v2/acme/model/blobs/{layer}", headers=oci.headers)
    assert unlink.status_code == 409


def test_aliases_move_and_delete_with_audit(oci: Oci):
    one, two = oci.manifest([b"one"]), oci.manifest([b"two"])
    oci.put_manifest("1.0.0", one)
    oci.put_manifest("2.0.0", two)
    assert oci.put_manifest("staging", one).status_code == 201
    assert oci.put_manifest("staging", two).status_code == 201  # aliases move
    assert oci.client.get("/v2/acme/model/manifests/staging", headers=oci.headers).content == two
    deleted = oci.client.delete("/v2/acme/model/manifests/staging", headers=oci.headers)
    assert deleted.status_code == 202
    gone = oci.client.get("/v2/acme/model/manifests/staging", headers=oci.headers)
    assert oci_code(gone) == "MANIFEST_UNKNOWN"
    events = oci.client.get("/api/v1/audit?namespace=acme&action=alias.move", headers=oci.headers)
    moves = [(e["detail"]["from"], e["detail"]["to"]) for e in events.json()["events"]]
    assert moves == [(None, sha256_digest(one)), (sha256_digest(one), sha256_digest(two))]


def test_delete_unversioned_manifest_and_blob(oci: Oci):
    body = oci.manifest([b"scratch"])
    digest = sha256_digest(body)
    assert oci.put_manifest(digest, body).status_code == 201
    assert (
        oci.client.delete(f"/v2/acme/model/manifests/{digest}", headers=oci.headers).status_code
        == 202
    )
    assert oci_code(oci.client.get(f"/v2/acme/model/manifests/{digest}", headers=oci.headers)) == (
        "MANIFEST_UNKNOWN"
    )
    layer = json.loads(body)["layers"][0]["digest"]
    assert (
        oci.client.delete(f"/v2/acme/model/blobs/{layer}", headers=oci.headers).status_code == 202
    )
    assert oci.client.head(f"/v2/acme/model/blobs/{layer}", headers=oci.headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"not json", None, "MANIFEST_INVALID"),
        (b"[1, 2]", None, "MANIFEST_INVALID"),
        (b'{"schemaVersion": 1, "layers": []}', None, "MANIFEST_INVALID"),
        (b'{"schemaVersion": 3}', None, "MANIFEST_INVALID"),
        (
            b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
            None,
            "MANIFEST_INVALID",
        ),
        (
            b'{"schemaVersion": 2, "mediaType": "text/plain", "config": {}}',
            None,
            "MANIFEST_INVALID",
        ),
        (
            b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", '
            b'"manifests": []}',
            "application/vnd.oci.image.manifest.v1+json",
            "MANIFEST_INVALID",
        ),
        (
            b'{"schemaVersion": 2, "config": {"mediaType": "a/b", "digest": "sha256:zz", '
            b'"size": 1}, "layers": []}',
            None,
            "MANIFEST_INVALID",
        ),
        (
            b'{"schemaVersion": 2, "config": {"mediaType": "a/b", "digest": "sha256:'
            + b"a" * 64
            + b'", "size": -1}, "layers": []}',
            None,
            "MANIFEST_INVALID",
        ),
        (b"[" * 100000 + b"]" * 100000, None, "MANIFEST_INVALID"),
    ],
)
def test_bad_manifests(oci: Oci, body, content_type, code):
    oci.push_blob(b"repository exists")
    headers = dict(oci.headers)
    if content_type:
        headers["Content-Type"] = content_type
    response = oci.client.put("/v2/acme/model/manifests/bad", content=body, headers=headers)
    assert oci_code(response) == code
    assert oci_code(oci.client.get("/v2/acme/model/manifests/bad", headers=oci.headers)) == (
        "MANIFEST_UNKNOWN"
    )


def test_manifest_referencing_missing_blobs(oci: Oci):
    layer = {
        "mediaType": "application/vnd.cncf.model.weight.v1.raw",
        "digest": sha256_digest(b"never pushed"),
        "size": 12,
    }
    config_digest = oci.push_blob(b"{}")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": config_digest,
                "size": 2,
            },
            "layers": [layer],
        }
    ).encode()
    response = oci.put_manifest("1.0.0", body)
    assert oci_code(response) == "MANIFEST_BLOB_UNKNOWN"
    assert response.json()["errors"][0]["detail"]["digest"] == layer["digest"]
    wrong_size = body.replace(b'"size": 2}', b'"size": 3}')
    assert oci_code(oci.put_manifest("1.0.1", wrong_size)) == "MANIFEST_INVALID"


def test_manifest_over_the_size_limit(tmp_path, database_url, make_token):
    from litestar.testing import TestClient

    from registry import Settings, create_app
    from registry.settings import DatabaseSettings, OciSettings

    settings = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=database_url),
        oci=OciSettings(max_manifest_bytes=1024),
    )
    token = make_token()
    with TestClient(create_app(settings)) as client:
        response = client.put(
            "/v2/acme/model/manifests/1.0.0",
            content=b'{"schemaVersion": 2, "pad": "' + b"x" * 2000 + b'"}',
            headers=bearer(token.secret),
        )
    assert response.status_code == 413
    message = response.json()["errors"][0]["message"]
    assert "1024-byte limit" in message
    assert "CUSTODY_MAX_MANIFEST_BYTES" in message


@pytest.mark.parametrize("tag", ["-bad", "a" * 129, "has space", "ünï"])
def test_invalid_tags(oci: Oci, tag):
    body = oci.manifest([b"w"])
    response = oci.client.put(f"/v2/acme/model/manifests/{tag}", content=body, headers=oci.headers)
    assert oci_code(response) in {"TAG_INVALID", "NAME_UNKNOWN"}


def _onnx_with_external(location: str) -> bytes:
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], [0.0] * 4)
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("float_data")
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["y"])],
        "g",
        [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 10
    return bytes(model.SerializeToString())


@pytest.mark.parametrize(
    ("title", "content", "reason"),
    [
        (
            "model.safetensors",
            b"\x10\x00\x00\x00\x00\x00\x00\x00" + b'{"a":1,"a":2}   ',
            "named twice",
        ),
        ("model.safetensors", safetensors_bytes(b"x" * 16)[:-4], "data buffer"),
        ("model.onnx", _onnx_with_external("../outside.bin"), ".."),
        ("model.onnx", _onnx_with_external("/etc/passwd"), "absolute"),
        ("model.onnx", _onnx_with_external("weights.bin"), "weights.bin"),
    ],
)
def test_model_files_with_lying_headers_are_refused_at_push(oci: Oci, title, content, reason):
    body = oci.manifest([content], titles=[title])
    response = oci.put_manifest("1.0.0", body)
    assert oci_code(response) == "MANIFEST_INVALID"
    message = response.json()["errors"][0]["message"]
    assert title in message
    assert reason.lower() in message.lower(), message
    assert oci_code(oci.client.get("/v2/acme/model/manifests/1.0.0", headers=oci.headers)) == (
        "MANIFEST_UNKNOWN"
    )
