"""OCI conformance, pull and push categories (a Python port of the suite's checks)."""

from __future__ import annotations

import hashlib
import os

from tests.support.oci_client import OCI_MANIFEST, Oci, oci_code
from tests.support.registry_helpers import safetensors_bytes, sha256_digest


def test_manifest_round_trip_keeps_exact_bytes(oci: Oci):
    body = oci.manifest([safetensors_bytes(b"weights")], titles=["model.safetensors"])
    body = body.replace(b'"schemaVersion":2', b'"schemaVersion" : 2')  # odd spacing is kept
    response = oci.put_manifest("1.0.0", body)
    assert response.status_code == 201, response.text
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["location"] == f"/v2/acme/model/manifests/{digest}"
    for reference in ("1.0.0", digest):
        got = oci.client.get(f"/v2/acme/model/manifests/{reference}", headers=oci.headers)
        assert got.status_code == 200
        assert got.content == body
        assert got.headers["content-type"] == OCI_MANIFEST
        assert got.headers["docker-content-digest"] == digest
        head = oci.client.head(f"/v2/acme/model/manifests/{reference}", headers=oci.headers)
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(body))


def test_put_by_digest(oci: Oci):
    body = oci.manifest([b"x"])
    digest = sha256_digest(body)
    assert oci.put_manifest(digest, body).status_code == 201
    assert oci.put_manifest(sha256_digest(b"other"), body).status_code == 400


def test_unknown_manifest_and_blob(oci: Oci):
    oci.push_blob(b"make the repository exist")
    missing = sha256_digest(b"missing")
    response = oci.client.get(f"/v2/acme/model/manifests/{missing}", headers=oci.headers)
    assert oci_code(response) == "MANIFEST_UNKNOWN"
    response = oci.client.get("/v2/acme/model/manifests/9.9.9", headers=oci.headers)
    assert oci_code(response) == "MANIFEST_UNKNOWN"
    response = oci.client.get(f"/v2/acme/model/blobs/{missing}", headers=oci.headers)
    assert oci_code(response) == "BLOB_UNKNOWN"
    response = oci.client.get("/v2/acme/nothing/manifests/1.0.0", headers=oci.headers)
    assert oci_code(response) == "NAME_UNKNOWN"


def test_blob_range_requests(oci: Oci):
    data = os.urandom(100_000)
    digest = oci.push_blob(data)
    url = f"/v2/acme/model/blobs/{digest}"
    cases = {"bytes=0-9": data[0:10], "bytes=99990-": data[99990:], "bytes=-5": data[-5:]}
    for header, expected in cases.items():
        response = oci.client.get(url, headers={**oci.headers, "Range": header})
        assert response.status_code == 206, header
        assert response.content == expected
        assert response.headers["content-length"] == str(len(expected))
    response = oci.client.get(url, headers={**oci.headers, "Range": "bytes=10-19"})
    assert response.headers["content-range"] == "bytes 10-19/100000"
    for bad in ("bytes=100000-", "bytes=5-2", "items=0-1", "bytes=-0"):
        response = oci.client.get(url, headers={**oci.headers, "Range": bad})
        assert response.status_code == 416, bad
        assert response.headers["content-range"] == "bytes */100000"
    full = oci.client.get(url, headers=oci.headers)
    assert full.headers["accept-ranges"] == "bytes"
    assert full.content == data


def test_chunked_upload_with_status_and_resume(oci: Oci):
    data = os.urandom(300_000)
    started = oci.client.post("/v2/acme/model/blobs/uploads/", headers=oci.headers)
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert started.headers["docker-upload-uuid"] in location
    first = oci.client.patch(
        location,
        content=data[:100_000],
        headers={
            **oci.headers,
            "Content-Range": "0-99999",
            "Content-Type": "application/octet-stream",
        },
    )
    assert first.status_code == 202, first.text
    assert first.headers["range"] == "0-99999"
    status = oci.client.get(first.headers["location"], headers=oci.headers)
    assert status.status_code == 204
    assert status.headers["range"] == "0-99999"
    # resume from the reported offset
    second = oci.client.patch(
        location,
        content=data[100_000:250_000],
        headers={**oci.headers, "Content-Range": "100000-249999"},
    )
    assert second.headers["range"] == "0-249999"
    closed = oci.client.put(
        f"{location}?digest={sha256_digest(data)}",
        content=data[250_000:],
        headers={**oci.headers, "Content-Range": "250000-299999"},
    )
    assert closed.status_code == 201, closed.text
    assert closed.headers["docker-content-digest"] == sha256_digest(data)
    got = oci.client.get(f"/v2/acme/model/blobs/{sha256_digest(data)}", headers=oci.headers)
    assert got.content == data
    gone = oci.client.get(location, headers=oci.headers)
    assert oci_code(gone) == "BLOB_UPLOAD_UNKNOWN"


def test_post_then_put_monolithic(oci: Oci):
    data = b"one request after the session"
    location = oci.client.post("/v2/acme/model/blobs/uploads/", headers=oci.headers).headers[
        "location"
    ]
    closed = oci.client.put(
        f"{location}?digest={sha256_digest(data)}",
        content=data,
        headers={**oci.headers, "Content-Type": "application/octet-stream"},
    )
    assert closed.status_code == 201, closed.text


def test_out_of_order_chunk_gets_416_and_changes_nothing(oci: Oci):
    location = oci.client.post("/v2/acme/model/blobs/uploads/", headers=oci.headers).headers[
        "location"
    ]
    oci.client.patch(location, content=b"abcde", headers={**oci.headers, "Content-Range": "0-4"})
    skipped = oci.client.patch(
        location, content=b"xyz", headers={**oci.headers, "Content-Range": "10-12"}
    )
    assert skipped.status_code == 416
    assert skipped.headers["range"] == "0-4"
    assert oci.client.get(location, headers=oci.headers).headers["range"] == "0-4"


def test_close_with_the_wrong_digest(oci: Oci, settings):
    location = oci.client.post("/v2/acme/model/blobs/uploads/", headers=oci.headers).headers[
        "location"
    ]
    oci.client.patch(location, content=b"abcde", headers=oci.headers)
    closed = oci.client.put(f"{location}?digest={sha256_digest(b'other')}", headers=oci.headers)
    assert oci_code(closed) == "DIGEST_INVALID"
    assert (
        oci.client.head(
            f"/v2/acme/model/blobs/{sha256_digest(b'abcde')}", headers=oci.headers
        ).status_code
        == 404
    )
    assert [p for p in (settings.blob_dir / "sha256").rglob("*") if p.is_file()] == []


def test_cancel_upload(oci: Oci):
    location = oci.client.post("/v2/acme/model/blobs/uploads/", headers=oci.headers).headers[
        "location"
    ]
    assert oci.client.delete(location, headers=oci.headers).status_code == 204
    assert oci_code(oci.client.get(location, headers=oci.headers)) == "BLOB_UPLOAD_UNKNOWN"


def test_upload_session_of_another_repository_is_unknown(oci: Oci):
    location = oci.client.post("/v2/acme/model/blobs/uploads/", headers=oci.headers).headers[
        "location"
    ]
    upload_id = location.rsplit("/", 1)[1]
    oci.push_blob(b"other repo exists", name="acme/other")
    response = oci.client.patch(
        f"/v2/acme/other/blobs/uploads/{upload_id}", content=b"x", headers=oci.headers
    )
    assert oci_code(response) == "BLOB_UPLOAD_UNKNOWN"


def test_cross_repository_mount(oci: Oci):
    digest = oci.push_blob(b"shared weights", name="acme/source")
    mounted = oci.client.post(
        f"/v2/acme/target/blobs/uploads/?mount={digest}&from=acme/source", headers=oci.headers
    )
    assert mounted.status_code == 201
    assert mounted.headers["location"] == f"/v2/acme/target/blobs/{digest}"
    assert oci.client.get(f"/v2/acme/target/blobs/{digest}", headers=oci.headers).content == (
        b"shared weights"
    )
    missing = oci.client.post(
        f"/v2/acme/target/blobs/uploads/?mount={sha256_digest(b'nope')}&from=acme/source",
        headers=oci.headers,
    )
    assert missing.status_code == 202  # falls back to a normal upload session


def test_mount_from_a_repository_the_token_cannot_read(oci: Oci, make_token):
    from tests.support.registry_helpers import bearer

    outsider = make_token(namespace="globex", scopes="push")
    digest = oci.push_blob(b"acme secret weights", name="acme/source")
    response = oci.client.post(
        f"/v2/globex/stolen/blobs/uploads/?mount={digest}&from=acme/source",
        headers=bearer(outsider.secret),
    )
    assert response.status_code == 202  # no mount, and no hint the blob exists
    probe = oci.client.head(f"/v2/globex/stolen/blobs/{digest}", headers=bearer(outsider.secret))
    assert probe.status_code == 404
