"""``GET /api/v1/tokens/self``: what the caller's own token grants (issue 14)."""

from __future__ import annotations

from tests.support.registry_helpers import bearer


def test_a_token_reads_its_own_scopes_but_never_its_secret(client, make_token):
    token = make_token(namespace="acme", scopes="pull,push")
    answer = client.get("/api/v1/tokens/self", headers=bearer(token.secret))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == token.id
    assert body["namespace"] == "acme"
    assert sorted(body["scopes"]) == ["pull", "push"]
    assert token.secret not in answer.text


def test_anonymous_and_unknown_tokens_are_refused(client):
    assert client.get("/api/v1/tokens/self").status_code == 401
    garbage = client.get("/api/v1/tokens/self", headers=bearer("cst_0123456789abcdef_nope"))
    assert garbage.status_code == 401
    assert garbage.json()["code"] == "UNAUTHORIZED"
