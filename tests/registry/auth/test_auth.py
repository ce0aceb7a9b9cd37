"""Tokens: hashed at rest, scoped per namespace, expiring, revocable; 401 vs 403."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from registry.auth import Principal, Scope, TokenService
from registry.auth.tokens import hash_token, parse_duration
from registry.db.engine import create_service_engine
from registry.db.models import ApiToken
from registry.errors import Denied, InvalidInput, Unauthorized
from registry.settings import Settings
from tests.support.registry_helpers import basic, bearer, sha256_digest

BLOB = b"weights"
UPLOAD = f"/v2/acme/model/blobs/uploads/?digest={sha256_digest(BLOB)}"


def _revoke_elsewhere(settings: Settings, token_id: str) -> None:
    """Revoke as another process would: through its own engine, not the app's."""

    async def work() -> None:
        engine = create_service_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session:
                await TokenService(session).revoke(token_id, actor="other-process")
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(work())


def _stored_tokens(settings: Settings) -> list[ApiToken]:
    async def work() -> list[ApiToken]:
        engine = create_service_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session:
                return list((await session.scalars(select(ApiToken))).all())
        finally:
            await engine.dispose()

    return asyncio.run(work())


def test_only_the_hash_is_stored(settings, make_token):
    issued = make_token()
    [row] = _stored_tokens(settings)
    assert row.token_hash == hash_token(issued.secret)
    assert issued.secret not in {row.id, row.token_hash, row.description}
    assert issued.secret.startswith(f"cst_{issued.id}_")


def test_bearer_and_basic_both_authenticate(client, make_token):
    issued = make_token(scopes="push")
    for headers in (bearer(issued.secret), basic(issued.secret)):
        response = client.post(UPLOAD, content=BLOB, headers=headers)
        assert response.status_code == 201, response.text


def test_no_credentials_gets_401_with_challenge(client):
    response = client.post(UPLOAD, content=BLOB)
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cst_0000000000000000_notarealtoken",
        "Bearer not-even-a-custody-token",
        "Basic !!!notbase64",
        "Basic " + "dXNlcm9ubHk=",  # "useronly": no password
        "Digest username=x",
    ],
)
def test_bad_credentials_get_401(client, header):
    response = client.post(UPLOAD, content=BLOB, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_expired_token_is_refused(client, make_token):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with freeze_time(start):
        issued = make_token(expires_in=timedelta(hours=1))
    with freeze_time(start + timedelta(minutes=59)):
        assert client.post(UPLOAD, content=BLOB, headers=bearer(issued.secret)).status_code == 201
    with freeze_time(start + timedelta(hours=1, seconds=1)):
        response = client.post(UPLOAD, content=BLOB, headers=bearer(issued.secret))
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


def test_revoked_token_is_refused(client, make_token, settings):
    issued = make_token()

    _revoke_elsewhere(settings, issued.id)
    response = client.post(UPLOAD, content=BLOB, headers=bearer(issued.secret))
    assert response.status_code == 401
    assert "revoked" in response.json()["errors"][0]["message"]


def test_token_for_another_namespace_gets_403(client, make_token):
    other = make_token(namespace="globex", scopes="push,admin")
    response = client.post(UPLOAD, content=BLOB, headers=bearer(other.secret))
    assert response.status_code == 403
    body = response.json()["errors"][0]
    assert body["code"] == "DENIED"
    assert "acme" in body["message"]


def test_pull_only_token_cannot_push(client, make_token):
    reader = make_token(scopes="pull")
    assert client.post(UPLOAD, content=BLOB, headers=bearer(reader.secret)).status_code == 403


def test_site_token_reaches_every_namespace(client, make_token):
    site = make_token(namespace="*", scopes="admin")
    assert client.post(UPLOAD, content=BLOB, headers=bearer(site.secret)).status_code == 201


def test_anonymous_pull_only_where_the_namespace_allows(client, make_token):
    admin = make_token(scopes="admin")
    pushed = client.post(UPLOAD, content=BLOB, headers=bearer(admin.secret))
    assert pushed.status_code == 201
    blob_url = f"/v2/acme/model/blobs/{sha256_digest(BLOB)}"
    assert client.get(blob_url).status_code == 401
    response = client.patch(
        "/api/v1/namespaces/acme", json={"anonymous_pull": True}, headers=bearer(admin.secret)
    )
    assert response.status_code == 200, response.text
    assert client.get(blob_url).content == BLOB
    # anonymous pull never means anonymous push
    assert client.post(UPLOAD, content=BLOB).status_code == 401


def test_scope_implication():
    principal = Principal("t", "id", "acme", frozenset({Scope.ADMIN}))
    assert principal.allows("acme", Scope.PUSH)
    assert principal.allows("acme", Scope.PULL)
    assert not principal.allows("globex", Scope.PULL)
    pusher = Principal("t", "id", "acme", frozenset({Scope.PUSH}))
    assert not pusher.allows("acme", Scope.ADMIN)
    with pytest.raises(Denied):
        pusher.require("acme", Scope.ADMIN)
    with pytest.raises(Unauthorized):
        Principal.anonymous().require("acme", Scope.PULL)


@pytest.mark.parametrize("text", ["", "read", "pull,write", ","])
def test_unknown_scopes_are_refused(text):
    with pytest.raises(InvalidInput):
        Scope.parse_list(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("never", None),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["-1d", "1y", "d", "1.5h", "soon"])
def test_bad_durations(text):
    with pytest.raises(InvalidInput):
        parse_duration(text)


def _access_token(client, secret: str | None, scope: str) -> str:  # type: ignore[no-untyped-def]
    auth = ("anyone", secret) if secret else None
    response = client.get("/auth/token", params={"service": "custody", "scope": scope}, auth=auth)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def test_access_tokens_expire(client, make_token):
    issued = make_token(scopes="push")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with freeze_time(start):
        access = _access_token(client, issued.secret, "repository:acme/model:pull,push")
    with freeze_time(start + timedelta(seconds=299)):
        ok = client.post(UPLOAD, content=BLOB, headers=bearer(access))
        assert ok.status_code == 201, ok.text
    with freeze_time(start + timedelta(seconds=301)):
        late = client.post(UPLOAD, content=BLOB, headers=bearer(access))
    assert late.status_code == 401
    assert "expired" in late.json()["errors"][0]["message"]
    assert late.headers["www-authenticate"].startswith("Bearer realm=")


def test_access_tokens_die_with_their_api_token(client, make_token, settings):
    issued = make_token(scopes="push")
    access = _access_token(client, issued.secret, "repository:acme/model:push")

    _revoke_elsewhere(settings, issued.id)
    response = client.post(UPLOAD, content=BLOB, headers=bearer(access))
    assert response.status_code == 401
    assert "revoked" in response.json()["errors"][0]["message"]


def test_grants_never_exceed_the_api_token(client, make_token):
    reader = make_token(scopes="pull")
    access = _access_token(client, reader.secret, "repository:acme/model:pull,push,delete,*")
    response = client.post(UPLOAD, content=BLOB, headers=bearer(access))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'scope="repository:acme/model:pull,push"' in challenge
    assert 'error="insufficient_scope"' in challenge
    # malformed and foreign scopes grant nothing, and do not fail the request
    weird = _access_token(client, reader.secret, "repository:../x:pull registry:catalog:*")
    assert client.get("/v2/acme/model/tags/list", headers=bearer(weird)).status_code == 403


def test_anonymous_token_only_where_pull_is_public(client, make_token):
    admin = make_token(scopes="admin")
    client.post(UPLOAD, content=BLOB, headers=bearer(admin.secret))
    private = _access_token(client, None, "repository:acme/model:pull")
    blob_url = f"/v2/acme/model/blobs/{sha256_digest(BLOB)}"
    assert client.get(blob_url, headers=bearer(private)).status_code == 403
    client.patch(
        "/api/v1/namespaces/acme", json={"anonymous_pull": True}, headers=bearer(admin.secret)
    )
    public = _access_token(client, None, "repository:acme/model:pull,push")
    assert client.get(blob_url, headers=bearer(public)).content == BLOB
    assert client.post(UPLOAD, content=BLOB, headers=bearer(public)).status_code == 403


def test_token_endpoint_refuses_bad_credentials(client):
    for auth_header in ("Basic !!!", "Bearer cst_x", "Basic " + "eDo="):
        response = client.get("/auth/token", headers={"Authorization": auth_header})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
    wrong = client.get("/auth/token", auth=("u", "cst_0000000000000000_nope"))
    assert wrong.status_code == 401


def test_credential_cache_honours_revocation_elsewhere_within_its_ttl(client, make_token, settings):
    """Revoked by another process: refused once the cache entry expires (5 s default)."""
    issued = make_token()
    start = datetime(2026, 5, 1, tzinfo=UTC)

    with freeze_time(start) as frozen:
        assert client.post(UPLOAD, content=BLOB, headers=bearer(issued.secret)).status_code == 201
        _revoke_elsewhere(settings, issued.id)
        frozen.tick(timedelta(seconds=settings.auth.cache_seconds + 0.1))
        refused = client.post(UPLOAD, content=BLOB, headers=bearer(issued.secret))
    assert refused.status_code == 401


def test_revocation_through_the_api_is_immediate(client, make_token):
    admin = make_token(scopes="admin")
    other = make_token(scopes="push")
    assert client.post(UPLOAD, content=BLOB, headers=bearer(other.secret)).status_code == 201
    revoked = client.delete(f"/api/v1/tokens/{other.id}", headers=bearer(admin.secret))
    assert revoked.status_code == 204
    assert client.post(UPLOAD, content=BLOB, headers=bearer(other.secret)).status_code == 401
