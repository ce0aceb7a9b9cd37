"""The lifecycle API's token and audit endpoints, and problem-details errors."""

from __future__ import annotations

from tests.support.registry_helpers import bearer, sha256_digest

PROBLEM = "application/problem+json"


def test_admin_creates_lists_and_revokes_tokens(client, make_token):
    admin = make_token(scopes="admin")
    created = client.post(
        "/api/v1/tokens",
        json={"namespace": "acme", "scopes": ["pull"], "expires_in": "1d", "description": "ci"},
        headers=bearer(admin.secret),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["token"].startswith(f"cst_{body['id']}_")
    assert body["scopes"] == ["pull"]

    listed = client.get("/api/v1/tokens?namespace=acme", headers=bearer(admin.secret)).json()
    ids = {t["id"] for t in listed["tokens"]}
    assert body["id"] in ids
    assert all("token" not in t for t in listed["tokens"])  # secrets are never listed

    new_token = body["token"]
    assert (
        client.delete(f"/api/v1/tokens/{body['id']}", headers=bearer(admin.secret)).status_code
        == 204
    )
    response = client.get("/api/v1/tokens?namespace=acme", headers=bearer(new_token))
    assert response.status_code == 401


def test_non_admin_cannot_create_tokens(client, make_token):
    pusher = make_token(scopes="push")
    response = client.post(
        "/api/v1/tokens",
        json={"namespace": "acme", "scopes": ["admin"]},
        headers=bearer(pusher.secret),
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "DENIED"


def test_namespace_admin_cannot_mint_site_tokens(client, make_token):
    admin = make_token(scopes="admin")
    response = client.post(
        "/api/v1/tokens", json={"namespace": "*", "scopes": ["admin"]}, headers=bearer(admin.secret)
    )
    assert response.status_code == 403


def test_token_create_validation(client, make_token):
    admin = make_token(scopes="admin")
    cases = [
        {"namespace": "acme", "scopes": ["root"]},
        {"namespace": "acme", "scopes": []},
        {"namespace": "acme", "scopes": ["pull"], "expires_in": "forever"},
        {"namespace": "acme", "scopes": ["pull"], "surprise": 1},
        {"namespace": "../etc", "scopes": ["pull"]},
    ]
    for payload in cases:
        response = client.post("/api/v1/tokens", json=payload, headers=bearer(admin.secret))
        assert 400 <= response.status_code < 500, (payload, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    not_json = client.post(
        "/api/v1/tokens",
        content=b"{not json",
        headers={**bearer(admin.secret), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400
    assert not_json.json()["status"] == 400


def test_every_write_is_audited(client, make_token):
    admin = make_token(scopes="admin")
    data = b"audited bytes"
    client.post(
        f"/v2/acme/model/blobs/uploads/?digest={sha256_digest(data)}",
        content=data,
        headers=bearer(admin.secret),
    )
    client.post(
        "/api/v1/tokens",
        json={"namespace": "acme", "scopes": ["pull"]},
        headers=bearer(admin.secret),
    )
    page = client.get("/api/v1/audit?namespace=acme", headers=bearer(admin.secret))
    assert page.status_code == 200, page.text
    events = page.json()["events"]
    actions = [e["action"] for e in events]
    assert actions[:2] == ["namespace.create", "token.create"]  # the fixture's own token
    assert "repository.create" in actions
    assert "blob.push" in actions
    push = next(e for e in events if e["action"] == "blob.push")
    assert push["actor"] == f"token:{admin.id}"
    assert push["subject"] == f"acme/model@{sha256_digest(data)}"
    assert push["detail"] == {"size": len(data)}
    assert actions[-1] == "token.create"


def test_audit_pagination(client, make_token):
    admin = make_token(scopes="admin")
    for _ in range(5):
        client.post(
            "/api/v1/tokens",
            json={"namespace": "acme", "scopes": ["pull"]},
            headers=bearer(admin.secret),
        )
    first = client.get("/api/v1/audit?namespace=acme&limit=3", headers=bearer(admin.secret)).json()
    assert len(first["events"]) == 3
    rest = client.get(
        f"/api/v1/audit?namespace=acme&limit=100&after={first['next_after']}",
        headers=bearer(admin.secret),
    ).json()
    assert rest["next_after"] is None
    ids = [e["id"] for e in first["events"] + rest["events"]]
    assert ids == sorted(set(ids))
    assert len(ids) == 2 + 5  # namespace.create + fixture token + 5 tokens


def _audit(client, token, **params):
    response = client.get("/api/v1/audit", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    page = response.json()
    return [e["id"] for e in page["events"]], page["next_after"], page["prev_before"]


def test_audit_pages_both_ways_with_exact_cursors(client, make_token):
    admin = make_token(scopes="admin")
    for scopes in (["pull"], ["push"]) * 5:  # 10 token.create events besides the fixture's
        client.post(
            "/api/v1/tokens",
            json={"namespace": "acme", "scopes": scopes},
            headers=bearer(admin.secret),
        )
    token = admin.secret
    everything, _, _ = _audit(client, token, namespace="acme", limit=1000)
    assert len(everything) == 12

    first, next_after, prev_before = _audit(client, token, namespace="acme", limit=5)
    assert first == everything[:5] and prev_before is None and next_after == first[-1]
    second, next_after, prev_before = _audit(
        client, token, namespace="acme", limit=5, after=next_after
    )
    assert second == everything[5:10] and prev_before == second[0]
    back, back_next, back_prev = _audit(
        client, token, namespace="acme", limit=5, before=prev_before
    )
    assert back == first and back_prev is None and back_next == first[-1]
    last, last_next, last_prev = _audit(client, token, namespace="acme", limit=5, after=next_after)
    assert last == everything[10:] and last_next is None and last_prev == last[0]
    # A full last page says so exactly: no cursor to an empty page.
    full, full_next, _ = _audit(client, token, namespace="acme", limit=12)
    assert full == everything and full_next is None
    # The newest page, counted back from the end.
    newest, newest_next, newest_prev = _audit(
        client, token, namespace="acme", limit=5, before=2**63 - 1
    )
    assert newest == everything[-5:] and newest_next is None and newest_prev == newest[0]
    # Both bounds: a window.
    window, _, _ = _audit(
        client, token, namespace="acme", after=everything[2], before=everything[6]
    )
    assert window == everything[3:6]


def test_audit_cursors_keep_filters_and_lead_out_of_empty_pages(client, make_token):
    admin = make_token(scopes="admin")
    for scopes in (["pull"], ["push"]) * 3:
        client.post(
            "/api/v1/tokens",
            json={"namespace": "acme", "scopes": scopes},
            headers=bearer(admin.secret),
        )
    token = admin.secret
    creates, _, _ = _audit(client, token, namespace="acme", action="token.create", limit=1000)
    first, next_after, _ = _audit(client, token, namespace="acme", action="token.create", limit=2)
    second, _, prev_before = _audit(
        client, token, namespace="acme", action="token.create", limit=2, after=next_after
    )
    assert first + second == creates[:4]
    back, _, _ = _audit(
        client, token, namespace="acme", action="token.create", limit=2, before=prev_before
    )
    assert back == first
    # Past the end: nothing, and the way back.
    beyond, beyond_next, beyond_prev = _audit(
        client, token, namespace="acme", limit=5, after=2**63 - 1
    )
    assert beyond == [] and beyond_next is None and beyond_prev == 2**63 - 1
    back, _, _ = _audit(client, token, namespace="acme", limit=1000, before=beyond_prev)
    assert back[-1] >= creates[-1]
    # Before the start: nothing, and the way forward.
    none, none_next, none_prev = _audit(client, token, namespace="acme", limit=5, before=1)
    assert none == [] and none_prev is None and none_next == 0


def test_bad_audit_cursors_are_400(client, make_token):
    headers = bearer(make_token(scopes="admin").secret)
    for query in ("before=0", f"before={2**63}", "before=-1", "before=one", "after=-1"):
        response = client.get(f"/api/v1/audit?namespace=acme&{query}", headers=headers)
        assert response.status_code == 400, query
        assert response.headers["content-type"].startswith("application/problem+json")


def test_audit_is_for_admins_only(client, make_token):
    pusher = make_token(scopes="push")
    assert (
        client.get("/api/v1/audit?namespace=acme", headers=bearer(pusher.secret)).status_code == 403
    )
    assert client.get("/api/v1/audit", headers=bearer(pusher.secret)).status_code == 403
    assert client.get("/api/v1/audit?namespace=acme").status_code == 401
    site = make_token(namespace="*", scopes="admin")
    assert client.get("/api/v1/audit", headers=bearer(site.secret)).status_code == 200


def test_unknown_routes_and_methods_are_problem_details(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    assert missing.json()["status"] == 404
    wrong_method = client.put("/healthz")
    assert wrong_method.status_code == 405


def test_openapi_schema_is_served(client):
    schema = client.get("/api/v1/openapi/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/tokens" in schema.json()["paths"]


def test_metrics_are_exported(client):
    client.get("/healthz")
    text = client.get("/metrics").text
    assert "custody_requests_total" in text
    assert "custody_request_duration_seconds_bucket" in text
