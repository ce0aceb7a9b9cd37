"""Bad input on /v2/: each gets a clear 4xx with an OCI error body and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.digests import Digest
from registry.errors import DigestInvalid, NameInvalid
from registry.naming import RepositoryName, validate_namespace
from tests.registry.helpers import bearer, sha256_digest

DATA = b"model bytes"
GOOD = sha256_digest(DATA)


def _stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]


def _oci_error(response) -> str:  # type: ignore[no-untyped-def]
    assert 400 <= response.status_code < 500, response.text
    return response.json()["errors"][0]["code"]


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:xyz",
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha256:" + "A" * 64,
        "md5:" + "a" * 32,
        "sha512:" + "a" * 128,
        "sha256" + "a" * 64,
        "",
        "sha256:" + "a" * 300,
    ],
)
def test_malformed_digests_on_upload(client, make_token, settings, digest):
    token = make_token()
    response = client.post(
        f"/v2/acme/model/blobs/uploads/?digest={digest}", content=DATA, headers=bearer(token.secret)
    )
    assert _oci_error(response) == "DIGEST_INVALID"
    assert _stored_files(settings.data_dir) == []


@pytest.mark.parametrize("digest", ["sha256:xyz", "md5:" + "a" * 32, "sha256:" + "g" * 64])
def test_malformed_digests_on_fetch(client, make_token, digest):
    token = make_token()
    response = client.get(f"/v2/acme/model/blobs/{digest}", headers=bearer(token.secret))
    assert _oci_error(response) == "DIGEST_INVALID"


def test_bytes_that_do_not_match_the_digest(client, make_token, settings):
    token = make_token()
    response = client.post(
        f"/v2/acme/model/blobs/uploads/?digest={sha256_digest(b'other')}",
        content=DATA,
        headers=bearer(token.secret),
    )
    assert _oci_error(response) == "DIGEST_INVALID"
    assert "does not match" in response.json()["errors"][0]["message"]
    assert _stored_files(settings.data_dir) == []
    assert (
        client.get(f"/v2/acme/model/blobs/{GOOD}", headers=bearer(token.secret)).status_code == 404
    )


@pytest.mark.parametrize(
    "path",
    [
        "/v2/acme/%2e%2e/blobs/uploads/",
        "/v2/acme/%2E%2E/%2e%2e/blobs/uploads/",
        "/v2/acme/%2e/model/blobs/uploads/",
        "/v2//etc/passwd/blobs/uploads/",
        "/v2/Acme/Model/blobs/uploads/",
        "/v2/acme/" + "m" * 300 + "/blobs/uploads/",
        "/v2/single/blobs/uploads/",
        "/v2/acme/mo%00del/blobs/uploads/",
        "/v2/acme/model-/blobs/uploads/",
        "/v2/targets/model/blobs/uploads/",  # a TUF top-level role name
        "/v2/root/model/blobs/uploads/",
    ],
)
def test_bad_repository_names(client, make_token, settings, path):
    token = make_token(namespace="*", scopes="admin")
    response = client.post(f"{path}?digest={GOOD}", content=DATA, headers=bearer(token.secret))
    assert response.status_code in {400, 404}, response.text
    assert response.json()["errors"][0]["code"] in {"NAME_INVALID", "NAME_UNKNOWN"}
    assert _stored_files(settings.data_dir) == []


def test_unknown_blob_is_404_not_500(client, make_token):
    token = make_token()
    response = client.get(f"/v2/acme/model/blobs/{GOOD}", headers=bearer(token.secret))
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "BLOB_UNKNOWN"


def test_blob_visible_only_in_repositories_it_was_pushed_to(client, make_token):
    token = make_token()
    assert (
        client.post(
            f"/v2/acme/one/blobs/uploads/?digest={GOOD}", content=DATA, headers=bearer(token.secret)
        ).status_code
        == 201
    )
    assert (
        client.head(f"/v2/acme/one/blobs/{GOOD}", headers=bearer(token.secret)).status_code == 200
    )
    assert (
        client.head(f"/v2/acme/two/blobs/{GOOD}", headers=bearer(token.secret)).status_code == 404
    )


def test_unknown_v2_endpoint(client, make_token):
    token = make_token()
    response = client.get("/v2/acme/model/nothing", headers=bearer(token.secret))
    assert response.status_code == 404
    assert "errors" in response.json()


def test_blob_size_limit(tmp_path, database_url, make_token):
    from litestar.testing import TestClient

    from registry import Settings, create_app

    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, max_blob_bytes=10)
    token = make_token()
    with TestClient(create_app(settings)) as small:
        response = small.post(
            f"/v2/acme/model/blobs/uploads/?digest={GOOD}",
            content=DATA,
            headers=bearer(token.secret),
        )
    assert response.status_code == 413
    assert "CUSTODY_MAX_BLOB_BYTES" in response.json()["errors"][0]["message"]
    assert _stored_files(settings.data_dir) == []


@pytest.mark.parametrize(
    "name", ["..", "%2e%2e", "/abs", "Upper", "a" * 129, "", "a..b", "-lead", "trail-", "a/b"]
)
def test_namespace_validation(name):
    with pytest.raises(NameInvalid):
        validate_namespace(name)


@pytest.mark.parametrize(
    "name", ["acme/model", "acme/sd-turbo", "acme/model.v2", "a1/b_c", "acme/x__y"]
)
def test_valid_repository_names(name):
    assert str(RepositoryName.parse(name)) == name
    assert RepositoryName.parse(name).namespace == name.split("/")[0]


def test_digest_round_trip():
    digest = Digest.parse("sha256:" + "0" * 64)
    assert str(digest) == "sha256:" + "0" * 64
    with pytest.raises(DigestInvalid, match="not supported"):
        Digest.parse("blake3:" + "0" * 64)
