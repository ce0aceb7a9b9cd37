"""The token endpoint grants the intersection of what is asked and what the token allows.

skopeo asks ``repository:NAME:*`` for everything it does (``skopeo delete`` of an
alias included): ``*`` asks for every action, and the answer lists those granted.
``delete`` covers blobs and manifests no alias names; an alias needs ``promote``
too, which the answer lists only when it is granted (ADR 0004, ADR 0012).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer

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
        ("pull,push,promote", ["delete", "promote", "pull", "push"]),
        ("admin", ["*", "delete", "promote", "pull", "push"]),
    ],
)
def test_star_is_granted_what_the_token_allows(client, make_token, scopes, granted):
    body = _token(client, make_token(scopes=scopes).secret, STAR)
    assert _granted(body) == granted


@pytest.mark.parametrize(
    ("scopes", "status", "tags"),
    [
        ("pull,push,promote", 202, ["1.0.0"]),
        # ``*`` is every action the token allows: without promote, aliases stay put.
        ("pull,push", 403, ["1.0.0", "latest"]),
    ],
)
def test_a_token_asking_star_deletes_an_alias_only_with_promote(
    client, oci: Oci, make_token, scopes, status, tags
):
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    assert oci.put_manifest("latest", body).status_code == 201
    answer = _token(client, make_token(scopes=scopes).secret, STAR)
    assert ("promote" in _granted(answer)) == (status == 202)  # the answer says which
    access = answer["token"]
    assert client.get("/v2/acme/model/manifests/latest", headers=bearer(access)).status_code == 200
    deleted = client.delete("/v2/acme/model/manifests/latest", headers=bearer(access))
    assert deleted.status_code == status, deleted.text
    if status == 403:
        assert deleted.json()["errors"][0]["detail"]["missing_scope"] == "promote"
    listed = client.get("/v2/acme/model/tags/list", headers=bearer(access)).json()["tags"]
    assert listed == tags
