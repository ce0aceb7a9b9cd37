"""The token endpoint grants the intersection of what is asked and what the token allows.

skopeo asks ``repository:NAME:*`` for everything it does (``skopeo delete`` of an
alias included): ``*`` asks for every action, and the answer lists those granted.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.registry.helpers import bearer
from tests.registry.oci_client import Oci

STAR = "repository:acme/model:*"


def _token(client, secret: str | None, scope: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    auth = ("skopeo", secret) if secret else None
    response = client.get("/auth/token", params={"service": "custody", "scope": scope}, auth=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _granted(body: dict[str, Any]) -> list[str]:
    (entry,) = body["access"]
    assert entry["type"] == "repository" and entry["name"] == "acme/model"
    actions: list[str] = entry["actions"]
    return actions


@pytest.mark.parametrize(
    ("scopes", "granted"),
    [
        ("pull", ["pull"]),
        ("pull,push", ["delete", "pull", "push"]),
        ("admin", ["*", "delete", "pull", "push"]),
    ],
)
def test_star_is_granted_what_the_token_allows(client, make_token, scopes, granted):
    body = _token(client, make_token(scopes=scopes).secret, STAR)
    assert _granted(body) == granted


def test_a_promote_token_asking_star_can_delete_an_alias(client, oci: Oci, make_token):
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    assert oci.put_manifest("latest", body).status_code == 201
    access = _token(client, make_token(scopes="pull,push,promote").secret, STAR)["token"]
    read = client.get("/v2/acme/model/manifests/latest", headers=bearer(access))
    assert read.status_code == 200
    deleted = client.delete("/v2/acme/model/manifests/latest", headers=bearer(access))
    assert deleted.status_code == 202, deleted.text
    assert client.get("/v2/acme/model/tags/list", headers=bearer(access)).json()["tags"] == [
        "1.0.0"
    ]


def test_a_pull_push_token_asking_star_cannot_delete_an_alias(client, oci: Oci, make_token):
    """``*`` is every action the token allows: without promote, aliases stay where they are."""
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    assert oci.put_manifest("latest", body).status_code == 201
    access = _token(client, make_token(scopes="pull,push").secret, STAR)["token"]
    deleted = client.delete("/v2/acme/model/manifests/latest", headers=bearer(access))
    assert deleted.status_code == 403, deleted.text
    assert deleted.json()["errors"][0]["detail"]["missing_scope"] == "promote"
    assert "latest" in client.get("/v2/acme/model/tags/list", headers=bearer(access)).json()["tags"]
