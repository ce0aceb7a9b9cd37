"""Bad input on /v2/: each gets a clear 4xx with an OCI error body and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.digests import Digest
from registry.errors import DigestInvalid, NameInvalid
from registry.naming import RepositoryName, validate_namespace
from tests.support.registry_helpers import bearer, sha256_digest

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
    from registry.settings import DatabaseSettings, OciSettings

    settings = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=database_url),
        oci=OciSettings(max_blob_bytes=10),
    )
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


# -- /api/v1 and the other non-OCI routes: problem details, never a 500 ---------------------

BIG = str(2**63)  # one past what a signed 64-bit column holds, on both engines
HUGE = "1" + "0" * 5000  # past Python's 4,300-digit int conversion limit


def _problem(response) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict = response.json()  # type: ignore[type-arg]
    assert problem["status"] == response.status_code
    assert problem["title"] and problem["detail"]
    assert "Traceback" not in response.text
    return problem


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/models?offset={BIG}",
        f"/api/v1/models?limit={BIG}",
        f"/api/v1/models?offset={HUGE}",
        "/api/v1/models?limit=0",
        "/api/v1/models?offset=-1",
        f"/api/v1/models/acme/model/versions?offset={BIG}",
        f"/api/v1/models/acme/model/versions?limit={BIG}",
        f"/api/v1/versions?license=mit&offset={BIG}",
        f"/api/v1/versions?license=mit&limit={BIG}",
        f"/api/v1/audit?after={BIG}",
        f"/api/v1/audit?limit={BIG}",
        f"/api/v1/log/entries?start=0&end={BIG}",
        f"/api/v1/log/entries?start={HUGE}&end=1",
        f"/api/v1/log/proof/consistency?first=1&second={BIG}",
        f"/api/v1/log/proof/inclusion?index={BIG}",
        f"/api/v1/log/proof/inclusion?index=0&tree_size={BIG}",
    ],
)
def test_integers_beyond_64_bits_are_400(client, make_token, path):
    headers = bearer(make_token(namespace="*", scopes="admin").secret)
    assert _problem(client.get(path, headers=headers))["status"] == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/models?offset=9223372036854775807",
        "/api/v1/audit?after=9223372036854775807",
        "/api/v1/versions?license=mit&offset=9223372036854775807",
    ],
)
def test_the_largest_64_bit_integer_is_still_served(client, make_token, path):
    headers = bearer(make_token(namespace="*", scopes="admin").secret)
    assert client.get(path, headers=headers).status_code == 200


def test_every_integer_parameter_is_bounded_and_a_forgotten_bound_still_holds(settings):
    from typing import Annotated

    from litestar import Litestar, get
    from litestar.params import QueryParameter
    from litestar.testing import TestClient

    from registry import create_app
    from registry.errors import ConfigurationError
    from registry.http.params import require_bounded_integers, unbounded_integers
    from registry.http.problems import EXCEPTION_HANDLERS
    from registry.http.text import refuse_invalid_text

    # Every route here declares its range (page sizes get their own maxima)...
    assert unbounded_integers(create_app(settings)) == []

    @get("/forgot", sync_to_thread=False)
    def forgot(page: Annotated[int, QueryParameter(ge=0)] = 0) -> dict[str, int]:
        return {"page": page}  # no upper bound declared

    app = Litestar(
        [forgot], middleware=[refuse_invalid_text], exception_handlers=EXCEPTION_HANDLERS
    )
    with pytest.raises(ConfigurationError, match=r"forgot\.page"):
        require_bounded_integers(app)
    # ... and one that forgot is still held to 64 bits by the input guard.
    with TestClient(app) as client:
        assert client.get(f"/forgot?page={BIG}").status_code == 400
        assert client.get(f"/forgot?page={HUGE}").status_code == 400
        assert client.get("/forgot?page=9223372036854775807").json() == {"page": 2**63 - 1}


TEXT_PATHS = [
    "/api/v1/models?q=a%00b",
    "/api/v1/models?namespace=a%00b",
    "/api/v1/models?media_type=a%00b",
    "/api/v1/models?q=%ED%A0%80",  # a lone surrogate, as UTF-8 would spell it
    "/api/v1/models?q=%FF",  # not UTF-8 at all
    "/api/v1/versions?license=a%00b",
    "/api/v1/versions?dataset=a%00b",
    "/api/v1/versions?opset=a%00b",
    "/api/v1/versions?component=a%00b",
    "/api/v1/versions?supplier=a%00b",
    "/api/v1/versions?dtype=a%00b",
    "/api/v1/versions?signer=a%00b",
    "/api/v1/versions?signer=%ED%A0%80",
    "/api/v1/versions?license=mit&namespace=a%00b",
    "/api/v1/tokens?namespace=a%00b",
    "/api/v1/audit?action=a%00b",
    "/api/v1/audit?namespace=%00",
    "/api/v1/models/acme/mo%00del",
    "/api/v1/models/acme/model/versions/1.0%00",
    "/api/v1/models/acme/model/aliases/prod%00",
    "/api/v1/namespaces/a%00b",
    "/api/v1/outputs/sha256:%00",
    "/api/v1/log/proof/inclusion?leaf_hash=%00",
    "/tuf/a%00.json",
]


@pytest.mark.parametrize("path", TEXT_PATHS)
@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "token"])
def test_nul_and_invalid_text_in_the_url_are_400(client, make_token, path, authenticated):
    headers = bearer(make_token(namespace="*", scopes="admin").secret) if authenticated else {}
    problem = _problem(client.get(path, headers=headers))
    assert problem["status"] == 400
    assert "NUL" in problem["detail"] or "UTF-8" in problem["detail"]


def test_nul_in_a_token_id_or_a_header_is_400(client, make_token):
    headers = bearer(make_token(scopes="admin").secret)
    assert _problem(client.delete("/api/v1/tokens/ab%00cd", headers=headers))["status"] == 400
    response = client.get("/api/v1/models", headers={**headers, "X-Trace": "a\x00b"})
    assert "NUL" in _problem(response)["detail"]
    response = client.get("/api/v1/models", headers={"Authorization": "Bearer cst_\x00"})
    assert _problem(response)["status"] == 400


@pytest.mark.parametrize(
    "body",
    [
        b'{"namespace":"acme","scopes":["pull"],"description":"a\\u0000b"}',
        b'{"namespace":"acme","scopes":["pull"],"description":"\\ud800"}',
        b'{"namespace":"acme","scopes":["pull\\u0000"]}',
        b'{"namespace":"acme","scopes":["pull"],"expires_in":"\\udc00d"}',
        b'{"namespace":"acme","scopes":["pull"],"a\\u0000":1}',
        b'{"namespace":"acme","scopes":["pull"],"description":"\xff"}',
        b'{"namespace":"acme","scopes":["pull"],"expires_in":"' + HUGE.encode() + b'd"}',
        b'{"namespace":"acme","scopes":["pull"],"expires_in":"99999999999999999999d"}',
        b'{"namespace":"acme","scopes":["pull"],"expires_in":"999999999d"}',
        b'{"namespace":' + HUGE.encode() + b',"scopes":["pull"]}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
)
def test_invalid_text_and_numbers_in_a_json_body_are_400(client, make_token, body):
    headers = bearer(make_token(scopes="admin").secret)
    before = client.get("/api/v1/tokens", params={"namespace": "acme"}, headers=headers).json()
    response = client.post(
        "/api/v1/tokens", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert _problem(response)["status"] == 400
    after = client.get("/api/v1/tokens", params={"namespace": "acme"}, headers=headers).json()
    assert after == before  # nothing stored


def test_nul_in_an_alias_move_is_400(client, make_token):
    headers = bearer(make_token(scopes="admin").secret)
    response = client.put(
        "/api/v1/models/acme/model/aliases/production",
        content=b'{"version":"1.0.0\\u0000"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert "NUL" in _problem(response)["detail"]


@pytest.mark.parametrize("opset", ["3000000000", HUGE, "\u00b2", "\u0663"])
def test_an_sbom_opset_no_column_can_hold_is_not_indexed(oci, tmp_path, opset):
    """An opset past 32 bits stored on SQLite and failed on PostgreSQL; one of 5,000 digits
    or in non-ASCII digits failed int(): each a 500. Such a value is not an opset."""
    import json

    from tests.registry.sbom.test_sbom_ingest import _attach, _bom, _model, _publish, _safetensors

    model = _model(tmp_path, _safetensors())
    _publish(oci, model, "1.0.0")
    document = json.loads(_bom(model))
    component = document["metadata"]["component"]
    component.setdefault("properties", []).append({"name": "custody:onnx:opset:", "value": opset})
    response = _attach(oci, "1.0.0", json.dumps(document).encode())
    assert response.status_code == 201, response.text
    assert response.json()["summary"].get("onnx_opsets", {}) == {}
    found = oci.client.get("/api/v1/versions", params={"opset": "1"}, headers=oci.headers)
    assert found.status_code == 200


@pytest.mark.parametrize(
    ("old", "new"),
    [('"Acme"', '"Ac\\u0000me"'), ('"laion"', '"la\\u0000ion"'), ('"laion"', '"la\\ud800ion"')],
    ids=["supplier-nul", "dataset-nul", "dataset-surrogate"],
)
def test_an_sbom_whose_indexed_text_an_engine_refuses_is_400(oci, tmp_path, old, new):
    """A NUL in an SBOM's supplier or dataset stored on SQLite and failed on PostgreSQL."""
    from signing.sbom import Dataset
    from tests.registry.sbom.test_sbom_ingest import _attach, _bom, _model, _publish, _safetensors

    model = _model(tmp_path, _safetensors())
    _publish(oci, model, "1.0.0")
    text = _bom(model, supplier="Acme", datasets=(Dataset("laion", sha256="ab" * 32),)).decode()
    response = _attach(oci, "1.0.0", text.replace(old, new).encode())
    problem = _problem(response)
    assert problem["status"] == 400
    view = oci.client.get("/api/v1/models/acme/model/versions/1.0.0", headers=oci.headers).json()
    assert view["sbom"] is None  # nothing stored


def test_a_refused_request_is_counted_as_the_400_it_got(client):
    assert client.get("/api/v1/models?q=a%00b").status_code == 400
    assert client.get("/v2/acme/model/tags/list?last=%00").status_code == 400
    counted = [
        line
        for line in client.get("/metrics").text.splitlines()
        if "custody_requests_total{" in line
    ]
    assert counted and all('status_code="400"' in line for line in counted), counted


def test_the_cli_refuses_a_description_no_engine_can_store(settings):
    """The CLI reaches TokenService past the HTTP boundary: a non-UTF-8 argument arrives as
    a lone surrogate (surrogateescape), which PostgreSQL cannot store and SQLite can."""
    import subprocess

    from tests.support.live import CUSTODY, cli_env

    latin1 = b"caf\xe9"  # not UTF-8
    result = subprocess.run(
        [
            CUSTODY,
            "token",
            "create",
            "--namespace",
            "acme",
            "--scopes",
            "pull",
            "--description",
            latin1,
        ],
        env=cli_env(settings.data_dir, settings.effective_database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "the description contains a lone surrogate" in result.stderr

    revoked = subprocess.run(
        [CUSTODY, "token", "revoke", latin1],
        env=cli_env(settings.data_dir, settings.effective_database_url),
        capture_output=True,
        text=True,
        check=False,
    )
    assert revoked.returncode == 1
    expected = "Error: Not found: no token with id 'caf\\udce9'"
    assert revoked.stderr.strip().splitlines() == [expected]
