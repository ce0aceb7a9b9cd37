"""``/tuf/``: what is public, what needs pull rights, what is 404."""

from __future__ import annotations

from tests.registry.tuf.conftest import push_version
from tests.support.registry_helpers import bearer, safetensors_bytes


def test_not_initialised_is_404(client):
    response = client.get("/tuf/timestamp.json")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "custody tuf init" in response.json()["detail"]
    assert client.get("/tuf/1.root.json").status_code == 404


UNKNOWN = [
    "/tuf/root.json",
    "/tuf/1.timestamp.json",
    "/tuf/0.root.json",
    "/tuf/01.root.json",
    "/tuf/9.root.json",
    "/tuf/1.Bad_Name!.json",
    "/tuf/1.root.txt",
    "/tuf/x.json",
    "/tuf/99999999999.root.json",
    "/tuf/2147483648.root.json",  # past the 32-bit version column: was a 500 on PostgreSQL
    "/tuf/1.acme@bin-0.json",
]


def test_unknown_files_are_404(client, root_json, make_token):
    reader = bearer(make_token(namespace="acme", scopes="pull").secret)
    for path in UNKNOWN:
        response = client.get(path, headers=reader)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    # A namespace role name is private until proven otherwise: no existence oracle.
    assert client.get("/tuf/1.nobody.json").status_code == 401


def test_namespace_role_needs_pull_rights(client, oci, root_json, make_token):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    client.get("/tuf/timestamp.json")
    for public in ("/tuf/1.root.json", "/tuf/1.snapshot.json", "/tuf/2.targets.json"):
        assert client.get(public).status_code == 200, public

    anonymous = client.get("/tuf/1.acme.json")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert "WWW-Authenticate" in anonymous.headers

    stranger = make_token(namespace="other", scopes="pull")
    assert client.get("/tuf/1.acme.json", headers=bearer(stranger.secret)).status_code == 403

    reader = make_token(namespace="acme", scopes="pull")
    allowed = client.get("/tuf/1.acme.json", headers=bearer(reader.secret))
    assert allowed.status_code == 200
    assert allowed.headers["cache-control"].startswith("private")


def test_anonymous_pull_namespace_role_is_public(client, oci, root_json, make_token):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    admin = make_token(namespace="acme", scopes="admin")
    updated = client.patch(
        "/api/v1/namespaces/acme", json={"anonymous_pull": True}, headers=bearer(admin.secret)
    )
    assert updated.status_code == 200, updated.text
    client.get("/tuf/timestamp.json")
    assert client.get("/tuf/1.acme.json").status_code == 200
