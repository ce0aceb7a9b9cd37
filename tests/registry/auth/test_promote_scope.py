"""Who may promote: moving or deleting an alias needs ``promote`` (or ``admin``), not ``push``.

A CI token that publishes versions cannot also move ``production``, over the
lifecycle API or over ``/v2/`` (an alias tag written by an OCI client), directly
or through the OCI token endpoint. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from registry.auth import Principal, Scope
from tests.support.live import CUSTODY, cli_env
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer, safetensors_bytes, sha256_digest

ALIAS_API = "/api/v1/models/acme/model/aliases"
PROBLEM = "application/problem+json"


@pytest.fixture
def published(oci: Oci) -> tuple[bytes, bytes]:
    """Two versions pushed (by an admin), and ``production`` on the first."""
    first = oci.manifest([_weights(b"weights one")], titles=["model.safetensors"])
    second = oci.manifest([_weights(b"weights two")], titles=["model.safetensors"])
    assert oci.put_manifest("1.0.0", first).status_code == 201
    assert oci.put_manifest("1.1.0", second).status_code == 201
    assert oci.put_manifest("production", first).status_code == 201
    return first, second


def _weights(seed: bytes) -> bytes:
    return safetensors_bytes(seed.ljust(16, b"."))


def _token(make_token: Any, scopes: str) -> dict[str, str]:
    return bearer(make_token(scopes=scopes).secret)


def _move(client: TestClient, headers: dict[str, str], alias: str, version: str) -> Any:  # type: ignore[type-arg]
    return client.put(f"{ALIAS_API}/{alias}", json={"version": version}, headers=headers)


def _production(oci: Oci) -> str:
    response = oci.client.get("/v2/acme/model/manifests/production", headers=oci.headers)
    assert response.status_code == 200, response.text
    return str(response.headers["docker-content-digest"])


def _refused_for_promote(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["missing_scope"] == "promote"
    assert "does not grant promote" in body["detail"]


def test_a_push_token_cannot_move_or_delete_an_alias(client, oci, published, make_token):
    first, _ = published
    pusher = _token(make_token, "pull,push")
    _refused_for_promote(_move(client, pusher, "production", "1.1.0"))
    _refused_for_promote(_move(client, pusher, "staging", "1.1.0"))  # creating one too
    _refused_for_promote(client.delete(f"{ALIAS_API}/production", headers=pusher))
    assert _production(oci) == sha256_digest(first)
    # It still publishes: a version is not a promotion.
    pusher_oci = Oci(client, pusher)
    third = pusher_oci.manifest([_weights(b"weights three")], titles=["model.safetensors"])
    assert pusher_oci.put_manifest("1.2.0", third).status_code == 201


@pytest.mark.parametrize("scopes", ["promote", "pull,push,promote", "admin"])
def test_promote_and_admin_tokens_move_and_delete_aliases(
    client, oci, published, make_token, scopes
):
    _, second = published
    promoter = _token(make_token, scopes)
    moved = _move(client, promoter, "production", "1.1.0")
    assert moved.status_code == 200, moved.text
    assert moved.json()["current"] == sha256_digest(second)
    assert _production(oci) == sha256_digest(second)
    assert client.delete(f"{ALIAS_API}/production", headers=promoter).status_code == 204


def test_a_promote_token_cannot_publish(client, make_token):
    promoter = Oci(client, _token(make_token, "promote"))
    refused = client.post(
        "/v2/acme/model/blobs/uploads/?digest=" + sha256_digest(b"x"),
        content=b"x",
        headers=promoter.headers,
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["detail"]["missing_scope"] == "push"


def test_an_oci_alias_tag_needs_promote(client, oci, published, make_token):
    first, second = published
    pusher = Oci(client, _token(make_token, "pull,push"))
    refused = pusher.put_manifest("production", second)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    assert refused.json()["errors"][0]["detail"]["missing_scope"] == "promote"
    assert _production(oci) == sha256_digest(first)
    # Nothing half-stored: a new manifest refused with an alias tag is not there by digest.
    fresh = pusher.manifest([_weights(b"never stored")], titles=["model.safetensors"])
    assert pusher.put_manifest("staging", fresh).status_code == 403
    lookup = f"/v2/acme/model/manifests/{sha256_digest(fresh)}"
    assert client.get(lookup, headers=oci.headers).status_code == 404

    # Deleting the alias tag, or the manifest it points at, removes the alias: promote too.
    by_tag = client.delete("/v2/acme/model/manifests/production", headers=pusher.headers)
    assert by_tag.status_code == 403 and "insufficient_scope" in by_tag.headers["www-authenticate"]
    untagged = pusher.manifest([_weights(b"weights four")], titles=["model.safetensors"])
    assert pusher.put_manifest(sha256_digest(untagged), untagged).status_code == 201
    assert oci.put_manifest("canary", untagged).status_code == 201
    by_digest = client.delete(
        f"/v2/acme/model/manifests/{sha256_digest(untagged)}", headers=pusher.headers
    )
    assert by_digest.status_code == 403, by_digest.text
    assert "insufficient_scope" in by_digest.headers["www-authenticate"]
    assert client.get(
        f"/v2/acme/model/manifests/{sha256_digest(untagged)}", headers=oci.headers
    ).status_code == 200  # fmt: skip

    promoter = Oci(client, _token(make_token, "pull,push,promote"))
    assert promoter.put_manifest("production", second).status_code == 201
    assert _production(oci) == sha256_digest(second)


def _access(client: TestClient, secret: str) -> dict[str, str]:  # type: ignore[type-arg]
    """What an OCI client does: ask the token endpoint for pull,push with its API token."""
    response = client.get(
        "/auth/token",
        params={"service": "custody", "scope": "repository:acme/model:pull,push"},
        auth=("ci", secret),
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["token"])


@pytest.mark.parametrize(("scopes", "allowed"), [("pull,push", False), ("push,promote", True)])
def test_the_token_endpoint_grants_promote_with_push_only_to_promote_tokens(
    client, oci, published, make_token, scopes, allowed
):
    _, second = published
    access = _access(client, make_token(scopes=scopes).secret)
    response = Oci(client, access).put_manifest("production", second)
    assert response.status_code == (201 if allowed else 403), response.text
    if not allowed:
        assert 'scope="repository:acme/model:pull,push"' in response.headers["www-authenticate"]


def test_scopes_and_what_they_imply():
    promoter = Principal("t", "id", "acme", frozenset({Scope.PROMOTE}))
    assert promoter.allows("acme", Scope.PROMOTE) and promoter.allows("acme", Scope.PULL)
    assert not promoter.allows("acme", Scope.PUSH)
    pusher = Principal("t", "id", "acme", frozenset({Scope.PUSH}))
    assert not pusher.allows("acme", Scope.PROMOTE)
    admin = Principal("t", "id", "acme", frozenset({Scope.ADMIN}))
    assert admin.allows("acme", Scope.PROMOTE) and not admin.allows("globex", Scope.PROMOTE)
    assert Scope.parse_list("pull,push,promote") == {Scope.PULL, Scope.PUSH, Scope.PROMOTE}


def test_token_create_accepts_the_promote_scope(tmp_path: Path, database_url: str):
    result = subprocess.run(
        [CUSTODY, "token", "create", "--namespace", "acme", "--scopes", "pull,push,promote",
         "--json"],
        env=cli_env(tmp_path / "data", database_url), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scopes"] == ["promote", "pull", "push"]


def test_the_tokens_api_issues_promote_tokens(client, make_token):
    admin = _token(make_token, "admin")
    response = client.post(
        "/api/v1/tokens",
        json={"namespace": "acme", "scopes": ["pull", "push", "promote", "admin"]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["scopes"] == ["admin", "promote", "pull", "push"]
