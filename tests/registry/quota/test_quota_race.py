"""Parallel pushes near the limit, against a real server: the quota holds (both engines).

The early checks of parallel pushes all read the same usage and all let their bytes in;
the guard in the transaction that links a blob locks the namespace, so exactly as many
blobs as fit are linked, and every other push is refused (409 ``DENIED``, audited).
A refused push whose bytes were already stored leaves an orphan file, the leftover a
killed upload leaves too; the store stays consistent.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker

from registry.db.engine import create_service_engine
from registry.storage import FilesystemBlobStore
from registry.storage.consistency import check_consistency
from tests.support.live import running_server
from tests.support.registry_helpers import bearer, sha256_digest

BLOB = 1000
FITS = 3  # the quota holds three blobs and a half
QUOTA = FITS * BLOB + BLOB // 2


async def _monolithic(base: str, headers: dict[str, str], count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        blobs = [os.urandom(BLOB) for _ in range(count)]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/v2/acme/mono{i}/blobs/uploads/?digest={sha256_digest(data)}", content=data
                )
                for i, data in enumerate(blobs)
            )
        )
    return sorted(r.status_code for r in responses)


async def _chunked(base: str, headers: dict[str, str], count: int) -> list[int]:
    """Every upload's bytes are in before any closes: all early checks see the same usage."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        blobs = [os.urandom(BLOB) for _ in range(count)]
        locations = []
        for i, data in enumerate(blobs):
            started = await client.post(f"/v2/acme/chunked{i}/blobs/uploads/")
            assert started.status_code == 202, started.text
            patched = await client.patch(started.headers["Location"], content=data)
            assert patched.status_code == 202, patched.text
            locations.append(patched.headers["Location"])
        responses = await asyncio.gather(
            *(
                client.put(location, params={"digest": sha256_digest(data)})
                for location, data in zip(locations, blobs, strict=True)
            )
        )
    for response in responses:
        if response.status_code != 201:
            assert response.json()["errors"][0]["code"] == "DENIED", response.text
    return sorted(r.status_code for r in responses)


def _used(base: str, headers: dict[str, str]) -> int:
    response = httpx.get(f"{base}/api/v1/namespaces/acme", headers=headers)
    assert response.status_code == 200, response.text
    used: int = response.json()["used_bytes"]
    return used


async def _consistent(database_url: str, blob_dir: Path) -> bool:
    engine = create_service_engine(database_url)
    store = FilesystemBlobStore(blob_dir)
    try:
        async with async_sessionmaker(engine)() as session:
            report = await check_consistency(session, store)
    finally:
        store.close()
        await engine.dispose()
    assert report.inconsistencies == []
    return report.consistent


def test_parallel_pushes_near_the_limit_never_pass_it(tmp_path: Path, database_url, make_token):  # type: ignore[no-untyped-def]
    site = bearer(make_token(namespace="*", scopes="admin").secret)
    pusher = bearer(make_token(namespace="acme", scopes="push").secret)
    data_dir = tmp_path / "data"
    with running_server(data_dir, database_url) as base:
        quota = httpx.patch(
            f"{base}/api/v1/namespaces/acme", json={"quota_bytes": QUOTA}, headers=site
        )
        assert quota.status_code == 200, quota.text

        assert asyncio.run(_chunked(base, pusher, 8)) == [201] * FITS + [409] * (8 - FITS)
        assert _used(base, site) == FITS * BLOB

        raised = httpx.patch(
            f"{base}/api/v1/namespaces/acme", json={"quota_bytes": 2 * QUOTA}, headers=site
        )
        assert raised.status_code == 200, raised.text
        # 7000 bytes hold 7 blobs, 3 are in: 4 of 10 parallel monolithic pushes fit.
        assert asyncio.run(_monolithic(base, pusher, 10)) == [201] * 4 + [409] * 6
        assert _used(base, site) == (FITS + 4) * BLOB <= 2 * QUOTA

        refusals = httpx.get(
            f"{base}/api/v1/audit",
            params={"namespace": "acme", "action": "blob.push.refused", "limit": 100},
            headers=site,
        ).json()["events"]
        assert len(refusals) == (8 - FITS) + 6
    assert asyncio.run(_consistent(database_url, data_dir / "blobs"))
