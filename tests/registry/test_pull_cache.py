"""The pull hot path's caches keep their promises: what they forget, and how fast.

Anonymous pulls and ``HEAD`` of a blob are served from in-process caches
(``registry.cache``). A namespace whose anonymous pull is turned off stops
serving anonymously at once through the API, and within
``CUSTODY_AUTH_CACHE_SECONDS`` when another process turns it off; an unlinked
blob is gone at once here and within ``CUSTODY_MANIFEST_CACHE_SECONDS`` elsewhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun import freeze_time
from sqlalchemy import delete, event, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from registry.db.engine import create_service_engine
from registry.db.models import Namespace, RepositoryBlob
from registry.services import services_of
from registry.settings import Settings
from tests.support.oci_client import Oci
from tests.support.registry_helpers import sha256_digest

MANIFEST = "/v2/acme/model/manifests/1.0.0"


def _elsewhere(settings: Settings, statement: Any) -> None:
    """Change the database as another process would: through its own engine."""

    async def work() -> None:
        engine = create_service_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session:
                await session.execute(statement)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(work())


def _public(oci: Oci, allowed: bool) -> None:
    response = oci.client.patch(
        "/api/v1/namespaces/acme", json={"anonymous_pull": allowed}, headers=oci.headers
    )
    assert response.status_code == 200, response.text


@contextmanager
def _statements(oci: Oci) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block."""
    engine: AsyncEngine = services_of(oci.client.app).engine
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


# Every route that serves a pull without credentials, all asking the one cached lookup.
ANONYMOUS_READS = (MANIFEST, "/api/v1/models/acme/model", "/api/v1/namespaces/acme")


def test_anonymous_pull_turned_off_through_the_api_stops_at_once(oci: Oci):
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    for url in ANONYMOUS_READS:  # remembered as private...
        assert oci.client.get(url).status_code == 401, url
    _public(oci, True)
    assert oci.client.get(MANIFEST).content == body  # ...and forgotten when it changes
    for url in ANONYMOUS_READS:
        assert oci.client.get(url).status_code == 200, url
    layer = sha256_digest(b"weights")
    assert oci.client.head(f"/v2/acme/model/blobs/{layer}").status_code == 200
    _public(oci, False)
    for url in ANONYMOUS_READS:
        assert oci.client.get(url).status_code == 401, url
    assert oci.client.head(f"/v2/acme/model/blobs/{layer}").status_code == 401
    assert oci.client.get(MANIFEST, headers=oci.headers).status_code == 200


def test_an_anonymous_access_token_stops_when_anonymous_pull_is_turned_off(oci: Oci):
    """docker, oras and skopeo always fetch a token first: it must not outlive the setting."""
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    _public(oci, True)
    answer = oci.client.get(
        "/auth/token", params={"service": "custody", "scope": "repository:acme/model:pull"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["access"] == [
        {"type": "repository", "name": "acme/model", "actions": ["pull"]}
    ]
    token = {"Authorization": f"Bearer {answer.json()['token']}"}
    assert oci.client.get(MANIFEST, headers=token).content == body
    _public(oci, False)
    refused = oci.client.get(MANIFEST, headers=token)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    layer = sha256_digest(b"weights")
    assert oci.client.head(f"/v2/acme/model/blobs/{layer}", headers=token).status_code == 403


def test_a_cached_anonymous_pull_does_not_touch_the_database(oci: Oci):
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    _public(oci, True)
    blob = f"/v2/acme/model/blobs/{sha256_digest(b'weights')}"
    with freeze_time(datetime(2026, 6, 1, tzinfo=UTC)):
        with _statements(oci) as first:
            assert oci.client.get(MANIFEST).content == body
            assert oci.client.head(blob).status_code == 200
        assert first  # a miss reads the setting, the manifest and the blob link
        with _statements(oci) as again:
            assert oci.client.get(MANIFEST).content == body
            assert oci.client.head(blob).status_code == 200
        assert again == []


def test_anonymous_pull_turned_off_elsewhere_stops_within_the_bound(oci: Oci, settings: Settings):
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    _public(oci, True)
    turn_off = update(Namespace).where(Namespace.name == "acme").values(anonymous_pull=False)
    with freeze_time(datetime(2026, 6, 1, tzinfo=UTC)) as frozen:
        assert oci.client.get(MANIFEST).status_code == 200
        _elsewhere(settings, turn_off)
        frozen.tick(timedelta(seconds=settings.auth.cache_seconds + 0.1))
        refused = oci.client.get(MANIFEST)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer realm=")


def test_head_of_a_blob_forgets_an_unlinked_blob(oci: Oci, settings: Settings):
    layer = oci.push_blob(b"scratch layer")
    url = f"/v2/acme/model/blobs/{layer}"
    assert oci.client.head(url, headers=oci.headers).headers["content-length"] == "13"
    assert oci.client.delete(url, headers=oci.headers).status_code == 202
    assert oci.client.head(url, headers=oci.headers).status_code == 404  # at once here
    # A missing blob is never remembered: pushed again, it is there at once.
    assert oci.client.head(url, headers=oci.headers).status_code == 404
    oci.push_blob(b"scratch layer")
    assert oci.client.head(url, headers=oci.headers).status_code == 200

    unlink = delete(RepositoryBlob).where(RepositoryBlob.blob_digest == layer)
    with freeze_time(datetime(2026, 6, 1, tzinfo=UTC)) as frozen:
        assert oci.client.head(url, headers=oci.headers).status_code == 200
        _elsewhere(settings, unlink)
        frozen.tick(timedelta(seconds=settings.oci.manifest_cache_seconds + 0.1))
        assert oci.client.head(url, headers=oci.headers).status_code == 404
