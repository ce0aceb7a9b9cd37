"""THE RACE garbage collection must win: pushes that reuse existing blobs (HEAD, then a
manifest PUT naming them) against collector passes with zero delay, all at once.

No acknowledged manifest may end up naming a missing blob: neither its row nor its
bytes. Run on SQLite with the filesystem store, and on PostgreSQL with S3 (SeaweedFS).
Pushers, uploads and passes share one event loop and interleave at every database
and store call; most pushes are untagged (so the collector removes them and then
their blobs, which other pushers are reusing), some are versions (kept forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from registry.db.models import Blob, Manifest, ManifestReference, Tag
from registry.digests import Digest
from registry.oci import manifest_handlers
from registry.settings import DatabaseSettings, GcSettings, Settings, StorageSettings
from tests.conftest import _truncate_postgres
from tests.registry.gc.support import Registry, descriptor, registry
from tests.support.oci_client import EMPTY, OCI_MANIFEST
from tests.support.registry_helpers import issue_token, sha256_digest
from tests.support.seaweedfs import SeaweedFS

SECONDS = 3.0
#: The race goes on past SECONDS (up to this long) until a few pushes were acknowledged and
#: some lost to the collector: on a busy machine a short run may show only one side.
MAX_SECONDS = 15.0
ACKNOWLEDGED = 3
PUSHERS = 6
POOL = 6  # blobs shared by all pushers in one generation


@pytest.fixture(params=["sqlite-filesystem", "postgresql-s3"])
def race_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    base = Settings(data_dir=tmp_path / "data", gc=GcSettings(enabled=False, delay_seconds=0))
    if request.param == "sqlite-filesystem":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "custody.db")
        return replace(base, database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'custody.db'}"))
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    server: SeaweedFS = request.getfixturevalue("seaweedfs")
    storage = StorageSettings(
        location=f"s3://{server.bucket}/gc-race-{uuid.uuid4().hex}",
        s3_endpoint_url=server.endpoint_url,
        s3_access_key_id=server.access_key_id,
        s3_secret_access_key=server.secret_access_key,
    )
    return replace(base, database=DatabaseSettings(url=url), storage=storage)


@dataclass
class Clock:
    """Until when the race runs: SECONDS, longer (to MAX_SECONDS) until pushes got through."""

    tally: Tally
    end: float
    hard_end: float

    def running(self) -> bool:
        now = time.monotonic()
        if now < self.end:
            return True
        raced = self.tally.refused + self.tally.reuploaded > 0 and self.tally.passes >= 2
        done = len(self.tally.acknowledged) >= ACKNOWLEDGED and raced
        return now < self.hard_end and not done


@dataclass
class Tally:
    acknowledged: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    refused: int = 0
    reuploaded: int = 0
    upload_collected: int = 0
    passes: int = 0
    collected_blobs: int = 0


def _body(config: bytes, layers: list[bytes], nonce: str) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(config, EMPTY),
            "layers": [descriptor(layer) for layer in layers],
            "annotations": {"nonce": nonce},
        },
        separators=(",", ":"),
    ).encode()


async def _ensure(reg: Registry, data: bytes, tally: Tally) -> bool:
    """HEAD the blob; upload it again if it is gone. False if the upload lost to the collector."""
    if (await reg.head_blob(sha256_digest(data))).status_code == 200:
        return True
    tally.reuploaded += 1
    response = await reg.push_blob(data)
    if response.status_code == 409:  # BlobCollected: bytes removed while it finished
        tally.upload_collected += 1
        return False
    assert response.status_code == 201, response.text
    return True


async def _pusher(
    reg: Registry, who: int, pool: list[list[bytes]], tally: Tally, clock: Clock
) -> None:
    rng = random.Random(who)
    n = 0
    while clock.running():
        n += 1
        generation = pool[-1]
        config, *layers = rng.sample(generation, 3)
        if not all([await _ensure(reg, blob, tally) for blob in (config, *layers)]):
            continue
        await asyncio.sleep(rng.random() * 0.003)  # widen the window between HEAD and PUT
        body = _body(config, layers, f"{who}-{n}")
        digest = sha256_digest(body)
        version = rng.random() < 0.1
        reference = f"9.{who}.{n}" if version else digest
        response = await reg.put_manifest(reference, body)
        if response.status_code == 201:
            tally.acknowledged.append(digest)
            if version:
                tally.versions.append(digest)
        else:
            assert response.status_code == 400, response.text
            assert response.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
            tally.refused += 1


async def _generations(reg: Registry, pool: list[list[bytes]], clock: Clock) -> None:
    """Every so often a new generation of blobs, uploaded (and so queued) afresh."""
    g = 0
    while clock.running():
        await asyncio.sleep(0.5)
        g += 1
        fresh = [f"generation {g} blob {i} {uuid.uuid4().hex}".encode() for i in range(POOL)]
        for blob in fresh:
            assert (await reg.push_blob(blob)).status_code == 201
        pool.append(fresh)


async def _collector(reg: Registry, tally: Tally, clock: Clock) -> None:
    collector = reg.collector(on_collected=lambda _: reg.services.blob_cache.clear())
    while clock.running():
        report = await collector.run_pass(ignore_delay=True)
        assert report.errors == [], report.errors
        tally.passes += 1
        tally.collected_blobs += len(report.blobs)
        await asyncio.sleep(0)


async def _missing(reg: Registry) -> list[str]:
    """Blobs some manifest in the database names whose row or bytes are gone."""
    async with reg.services.sessionmaker() as session:
        named = set(
            (
                await session.scalars(
                    select(ManifestReference.digest).where(ManifestReference.role != "manifest")
                )
            ).all()
        )
        rows = set((await session.scalars(select(Blob.digest))).all())
    missing = sorted(d for d in named if d not in rows)
    for digest in sorted(named & rows):
        if await reg.services.blobs.stat(Digest.parse(digest)) is None:
            missing.append(f"{digest} (bytes)")
    return missing


def test_reuse_pushes_never_outrun_the_collector(
    race_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Widen the window between a PUT's reference check and its commit (the file checks run
    # there), so that passes land inside it often: the locks, not luck, must hold.
    checks = manifest_handlers.check_model_files

    async def slow_checks(*args: Any) -> None:
        await asyncio.sleep(random.random() * 0.01)
        await checks(*args)

    monkeypatch.setattr(manifest_handlers, "check_model_files", slow_checks)
    token = issue_token(race_settings.effective_database_url, scopes="admin")

    async def work() -> tuple[Tally, list[str], set[str], set[str]]:
        async with registry(race_settings, token) as reg:
            first = [f"generation 0 blob {i} {uuid.uuid4().hex}".encode() for i in range(POOL)]
            for blob in first:
                assert (await reg.push_blob(blob)).status_code == 201
            pool = [first]
            tally = Tally()
            start = time.monotonic()
            clock = Clock(tally, start + SECONDS, start + MAX_SECONDS)
            await asyncio.gather(
                *(_pusher(reg, who, pool, tally, clock) for who in range(PUSHERS)),
                _generations(reg, pool, clock),
                _collector(reg, tally, clock),
                _collector(reg, tally, clock),  # two collectors, as two replicas would run
            )
            # What the race left must hold now, and after a last pass with no pusher around.
            missing = await _missing(reg)
            await reg.collector().run_pass(ignore_delay=True)
            missing += await _missing(reg)
            async with reg.services.sessionmaker() as session:
                manifests = set((await session.scalars(select(Manifest.digest))).all())
                tagged = set(
                    (
                        await session.scalars(
                            select(Manifest.digest).join(Tag, Tag.manifest_id == Manifest.id)
                        )
                    ).all()
                )
            return tally, missing, manifests, tagged

    tally, missing, manifests, tagged = asyncio.run(work())
    assert missing == []
    assert set(tally.versions) <= tagged  # versions are never collected
    # The race was run: pushes were acknowledged and refused, and blobs were collected.
    assert tally.acknowledged and tally.collected_blobs > 0 and tally.passes >= 2
    assert tally.refused + tally.reuploaded > 0, tally
    assert set(tally.acknowledged) - manifests  # untagged manifests were collected
    print(
        f"race: {tally.passes} passes, {len(tally.acknowledged)} acknowledged, "
        f"{tally.refused} refused, {tally.reuploaded} re-uploads "
        f"({tally.upload_collected} lost), {tally.collected_blobs} blobs collected"
    )


def test_a_pass_inside_a_push_window_keeps_what_the_push_names(
    race_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, made certain: a pass runs while a manifest PUT sits between its reference
    check and its commit, over blobs that are queued and (until that commit) unreferenced."""
    in_window = asyncio.Event()
    gc_done = asyncio.Event()
    checks = manifest_handlers.check_model_files

    async def held_checks(*args: Any) -> None:
        in_window.set()
        # PostgreSQL: the pass skips the share-locked rows and ends. SQLite: the pass waits
        # for the PUT's writer lock, so the PUT goes on after a while.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gc_done.wait(), 1.0)
        await checks(*args)

    monkeypatch.setattr(manifest_handlers, "check_model_files", held_checks)
    token = issue_token(race_settings.effective_database_url, scopes="admin")

    async def work() -> tuple[int, list[str], int]:
        async with registry(race_settings, token) as reg:
            config, layer = b"{}", b"held " + uuid.uuid4().bytes
            for blob in (config, layer):
                assert (await reg.push_blob(blob)).status_code == 201  # queued, unreferenced
            put = asyncio.create_task(reg.put_manifest("1.0.0", _body(config, [layer], "held")))
            await in_window.wait()
            report = await reg.collector().run_pass(ignore_delay=True)
            gc_done.set()
            status = (await put).status_code
            return status, await _missing(reg), len(report.blobs)

    status, missing, collected = asyncio.run(work())
    assert status == 201
    assert missing == [] and collected == 0
