"""The pull hot path's caches keep their promises: what they forget, and how fast.

Anonymous pulls and ``HEAD`` of a blob are served from in-process caches
(``registry.cache``). A namespace whose anonymous pull is turned off stops
serving anonymously at once through the API, and within
``CUSTODY_AUTH_CACHE_SECONDS`` when another process turns it off; an unlinked
blob is gone at once here and within ``CUSTODY_MANIFEST_CACHE_SECONDS`` elsewhere.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from freezegun import freeze_time
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from registry.db.engine import create_service_engine
from registry.db.models import Namespace, RepositoryBlob
from registry.settings import Settings
from tests.registry.helpers import sha256_digest
from tests.registry.oci_client import Oci

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


def test_anonymous_pull_turned_off_through_the_api_stops_at_once(oci: Oci):
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    assert oci.client.get(MANIFEST).status_code == 401  # remembered as private...
    _public(oci, True)
    assert oci.client.get(MANIFEST).content == body  # ...and forgotten when it changes
    layer = sha256_digest(b"weights")
    assert oci.client.head(f"/v2/acme/model/blobs/{layer}").status_code == 200
    _public(oci, False)
    assert oci.client.get(MANIFEST).status_code == 401
    assert oci.client.head(f"/v2/acme/model/blobs/{layer}").status_code == 401
    assert oci.client.get(MANIFEST, headers=oci.headers).status_code == 200


def test_anonymous_pull_turned_off_elsewhere_stops_within_the_bound(oci: Oci, settings: Settings):
    body = oci.manifest([b"weights"])
    assert oci.put_manifest("1.0.0", body).status_code == 201
    _public(oci, True)
    turn_off = update(Namespace).where(Namespace.name == "acme").values(anonymous_pull=False)
    with freeze_time(datetime(2026, 6, 1, tzinfo=UTC)) as frozen:
        assert oci.client.get(MANIFEST).status_code == 200
        _elsewhere(settings, turn_off)
        frozen.tick(timedelta(seconds=settings.auth_cache_seconds + 0.1))
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
        frozen.tick(timedelta(seconds=settings.manifest_cache_seconds + 0.1))
        assert oci.client.head(url, headers=oci.headers).status_code == 404
