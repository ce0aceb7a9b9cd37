"""Abandoned uploads expire while the server runs: rows and bytes, on both backends and engines.

Time is moved with freezegun on the filesystem store. On S3 it cannot be: the
client signs each request with the (frozen) date and SeaweedFS refuses a skewed
one, and freezegun's ``ignore`` does not reach ``datetime.now``; there the
expiry is a few seconds of real time instead. A session that received a chunk
recently, or is receiving one right now, is never purged.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from registry import create_app
from registry.app import open_configured_blob_store
from registry.db.engine import create_service_engine
from registry.db.models import AuditEvent, Namespace, Repository, UploadSession
from registry.db.types import utcnow
from registry.gc.uploads import UploadPurge, purge_stale_uploads
from registry.settings import Settings, StorageSettings
from tests.support.oci_client import Oci, oci_code
from tests.support.registry_helpers import bearer
from tests.support.seaweedfs import SeaweedFS

DAY = timedelta(hours=24)


def purge(
    settings: Settings, at: datetime | None = None, older_than: timedelta = DAY
) -> UploadPurge:
    async def run() -> UploadPurge:
        engine = create_service_engine(settings.effective_database_url)
        store = open_configured_blob_store(settings)
        try:
            return await purge_stale_uploads(
                async_sessionmaker(engine, expire_on_commit=False), store, older_than=older_than
            )
        finally:
            store.close()
            await engine.dispose()

    if at is None:
        return asyncio.run(run())
    with freeze_time(at, real_asyncio=True):
        return asyncio.run(run())


def query(settings: Settings, statement: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_service_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session:
                result = await session.execute(statement)
                found = list(result.all()) if getattr(statement, "is_select", False) else []
                await session.commit()
                return found
        finally:
            await engine.dispose()

    return asyncio.run(run())


def session_ids(settings: Settings) -> set[str]:
    return {i for (i,) in query(settings, select(UploadSession.id))}


def start(oci: Oci, chunk: bytes = b"") -> str:
    started = oci.client.post(f"/v2/{oci.name}/blobs/uploads/", headers=oci.headers)
    assert started.status_code == 202, started.text
    upload_id = started.headers["Docker-Upload-UUID"]
    if chunk:
        patched = oci.client.patch(
            started.headers["Location"],
            content=chunk,
            headers={**oci.headers, "Content-Type": "application/octet-stream"},
        )
        assert patched.status_code == 202, patched.text
    return upload_id


def test_an_abandoned_session_expires_with_its_bytes(oci: Oci, settings: Settings) -> None:
    abandoned = start(oci, b"first chunk, then silence")
    temp = settings.blob_dir / "_uploads" / ("d" * 32)
    temp.write_bytes(b"a monolithic upload cut off")
    session_file = settings.blob_dir / "_sessions" / abandoned
    assert session_file.stat().st_size == len(b"first chunk, then silence")

    now = utcnow()
    assert purge(settings, now + DAY - timedelta(hours=1)) == UploadPurge({}, 0)
    assert session_file.exists() and abandoned in session_ids(settings)

    purged = purge(settings, now + DAY + timedelta(hours=1))
    assert purged == UploadPurge({"acme": 1}, 2)  # the session's file and the temp file
    assert not session_file.exists() and not temp.exists()
    assert session_ids(settings) == set()
    events = query(
        settings,
        select(AuditEvent.actor, AuditEvent.namespace, AuditEvent.detail).where(
            AuditEvent.action == "upload.expire"
        ),
    )
    assert events == [("custody:upload-expiry", "acme", {"sessions": 1, "idle_seconds": 86400})]
    late = oci.client.patch(
        f"/v2/{oci.name}/blobs/uploads/{abandoned}", content=b"too late", headers=oci.headers
    )
    assert late.status_code == 404 and oci_code(late) == "BLOB_UPLOAD_UNKNOWN"


def test_each_patch_keeps_its_session_alive(oci: Oci, settings: Settings) -> None:
    """Both sessions look idle for 30 h (row and file); a PATCH to one renews it."""
    active, idle = start(oci, b"a"), start(oci, b"b")
    long_ago = utcnow() - timedelta(hours=30)
    query(settings, update(UploadSession).values(updated_at=long_ago))
    for upload_id in (active, idle):
        stamp = time.time() - 30 * 3600
        os.utime(settings.blob_dir / "_sessions" / upload_id, (stamp, stamp))
    resumed = oci.client.patch(
        f"/v2/{oci.name}/blobs/uploads/{active}",
        content=b"more",
        headers={**oci.headers, "Content-Range": "1-4"},
    )
    assert resumed.status_code == 202, resumed.text
    ((renewed,),) = query(
        settings, select(UploadSession.updated_at).where(UploadSession.id == active)
    )
    assert renewed.replace(tzinfo=None) > (utcnow() - timedelta(minutes=5)).replace(tzinfo=None)

    assert purge(settings).rows == {"acme": 1}
    assert session_ids(settings) == {active}
    assert (settings.blob_dir / "_sessions" / active).stat().st_size == 5
    assert not (settings.blob_dir / "_sessions" / idle).exists()


@pytest.mark.parametrize("backend", ["filesystem", "s3"])
def test_a_session_receiving_a_chunk_is_not_purged(
    request: pytest.FixtureRequest, settings: Settings, backend: str
) -> None:
    """An append in progress for longer than the expiry keeps its row and its bytes."""
    on_s3 = backend == "s3"
    if on_s3:
        settings = request.getfixturevalue("s3_settings")
    older_than = timedelta(seconds=2) if on_s3 else DAY
    store_dir = settings.blob_dir

    async def look_idle(upload_id: str) -> None:
        if on_s3:  # S3 keeps its own clock: let it run
            await asyncio.sleep(2.5)
        else:
            stamp = time.time() - 3 * DAY.total_seconds()
            os.utime(store_dir / "_sessions" / upload_id, (stamp, stamp))

    async def scenario() -> tuple[UploadPurge, UploadPurge, int]:
        engine = create_service_engine(settings.effective_database_url)
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        store = open_configured_blob_store(settings)
        try:
            upload_id = await store.start_upload()
            async with sessionmaker() as session:
                namespace = Namespace(name="acme", created_at=utcnow())
                session.add(namespace)
                await session.flush()
                repository = Repository(
                    namespace_id=namespace.id, name="acme/model", created_at=utcnow()
                )
                session.add(repository)
                await session.flush()
                stamp = utcnow() - 2 * DAY
                session.add(
                    UploadSession(
                        id=upload_id,
                        repository_id=repository.id,
                        created_by="test",
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
                await session.commit()
            first_sent, release = asyncio.Event(), asyncio.Event()

            async def slow_client() -> AsyncIterator[bytes]:
                yield b"first half, "
                first_sent.set()
                await release.wait()
                yield b"second half"

            append = asyncio.create_task(store.append_upload(upload_id, 0, slow_client()))
            await first_sent.wait()
            await look_idle(upload_id)
            during = await purge_stale_uploads(sessionmaker, store, older_than=older_than)
            release.set()
            size = await append
            await look_idle(upload_id)
            after = await purge_stale_uploads(sessionmaker, store, older_than=older_than)
            return during, after, size
        finally:
            store.close()
            await engine.dispose()

    during, after, size = asyncio.run(scenario())
    assert during == UploadPurge({}, 0)
    assert size == len(b"first half, second half")
    # idle once the chunk was done: the file, or the marker and the chunk's object
    assert after == UploadPurge({"acme": 1}, 2 if on_s3 else 1)
    assert session_ids(settings) == set()


def test_the_server_expires_uploads_in_the_background(settings: Settings, make_token: Any) -> None:
    quick = replace(
        settings, oci=replace(settings.oci, upload_expiry_seconds=1, upload_sweep_seconds=1)
    )
    with TestClient(app=create_app(quick), base_url="http://127.0.0.1") as client:
        oci = Oci(client, bearer(make_token(scopes="admin").secret))
        upload_id = start(oci, b"abandoned at once")
        deadline = time.monotonic() + 60
        while upload_id in session_ids(settings) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert upload_id not in session_ids(settings)
        assert not (settings.blob_dir / "_sessions" / upload_id).exists()


# -- S3 ------------------------------------------------------------------------------


@pytest.fixture
def s3_settings(settings: Settings, seaweedfs: SeaweedFS) -> Settings:
    return replace(
        settings,
        storage=StorageSettings(
            location=f"s3://{seaweedfs.bucket}/expiry-{uuid.uuid4().hex[:12]}",
            s3_endpoint_url=seaweedfs.endpoint_url,
            s3_access_key_id=seaweedfs.access_key_id,
            s3_secret_access_key=seaweedfs.secret_access_key,
        ),
    )


@pytest.fixture
def s3_oci(s3_settings: Settings, make_token: Any) -> Iterator[Oci]:
    with TestClient(app=create_app(s3_settings), base_url="http://127.0.0.1") as client:
        yield Oci(client, bearer(make_token(scopes="admin").secret))


def test_abandoned_uploads_expire_on_s3(
    s3_oci: Oci, s3_settings: Settings, seaweedfs: SeaweedFS
) -> None:
    bucket = seaweedfs.bucket
    prefix = s3_settings.storage.location.removeprefix(f"s3://{bucket}/") + "/"
    s3 = seaweedfs.client()

    def keys() -> list[str]:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return sorted(item["Key"][len(prefix) :] for item in listed)

    def multipart() -> list[str]:
        listed = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
        return [item["Key"][len(prefix) :] for item in listed]

    abandoned = start(s3_oci, b"first chunk, then silence")
    s3.put_object(Bucket=bucket, Key=f"{prefix}_uploads/{'a' * 32}", Body=b"staged, left")
    s3.create_multipart_upload(Bucket=bucket, Key=f"{prefix}_uploads/{'b' * 32}")
    chunk, marker, staged = keys()
    assert chunk.startswith(f"_sessions/{abandoned}/{0:020d}-")  # a chunk's key: offset-tag
    assert (marker, staged) == (f"_sessions/{abandoned}/session", f"_uploads/{'a' * 32}")
    assert multipart() == [f"_uploads/{'b' * 32}"]

    assert purge(s3_settings, older_than=timedelta(hours=1)) == UploadPurge({}, 0)
    assert len(keys()) == 3 and session_ids(s3_settings) == {abandoned}

    time.sleep(2.5)  # S3 cannot be lied to about time: let the real clock move
    purged = purge(s3_settings, older_than=timedelta(seconds=2))
    assert purged == UploadPurge({"acme": 1}, 4)  # 2 session objects, staging, multipart
    assert keys() == [] and multipart() == []
    assert session_ids(s3_settings) == set()
