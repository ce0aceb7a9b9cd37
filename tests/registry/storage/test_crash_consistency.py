"""A registry killed with SIGKILL mid-push keeps every promise it made (both engines).

Three rounds of 50 concurrent uploads (monolithic and chunked) and manifest
pushes against a real ``custody serve``, each round killed at a random moment
and restarted on the same data directory and database (``bench.crash_soak``
does the work; ``python -m bench crash`` runs more rounds). After each restart:
every acknowledged blob and manifest is served intact, no interrupted upload is
visible in part, and ``custody fsck --verify-digests`` (its code path,
:func:`registry.cli.fsck.run_fsck`) finds the database and the blob store in
agreement. Orphan files of unacknowledged uploads are allowed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from bench import crash_soak
from bench.crash_soak import run_rounds
from registry.cli.fsck import run_fsck
from registry.db.engine import create_service_engine
from registry.db.models import (
    Blob,
    Manifest,
    ManifestReference,
    Namespace,
    Repository,
    UploadSession,
)
from registry.db.types import utcnow
from registry.settings import DatabaseSettings, Settings, StorageSettings
from registry.storage import FilesystemBlobStore
from registry.storage.consistency import ConsistencyReport
from tests.conftest import _truncate_postgres
from tests.support.seaweedfs import SeaweedFS


def test_every_acknowledged_push_survives_sigkill(tmp_path: Path, database_url: str) -> None:
    results = run_rounds(tmp_path / "data", database_url, rounds=3, ops=50, seed=1313)
    for result in results:
        assert result.inconsistencies == [], result.line()
        assert result.verified == result.acknowledged, result.line()
    assert results[-1].acknowledged > 0  # the kills did not all land before any push


def test_every_acknowledged_push_survives_sigkill_on_seaweedfs(
    tmp_path: Path, postgres_database: str, seaweedfs: SeaweedFS
) -> None:
    """One round on PostgreSQL + SeaweedFS: the same promises with the blobs in a bucket."""
    _truncate_postgres(postgres_database)
    on_s3 = seaweedfs.registry_env(f"crash-{uuid.uuid4().hex[:12]}")
    results = run_rounds(
        tmp_path / "data", postgres_database, rounds=1, ops=50, seed=2626, extra_env=on_s3
    )
    assert results[0].inconsistencies == [], results[0].line()
    assert results[0].verified == results[0].acknowledged, results[0].line()
    assert results[0].acknowledged > 0
    assert not (tmp_path / "data" / "blobs").exists()


def _check(root: Path, database_url: str) -> ConsistencyReport:
    """What ``custody fsck --verify-digests`` finds in the store at ``root``."""
    settings = Settings(
        data_dir=root.parent,
        database=DatabaseSettings(url=database_url),
        storage=StorageSettings(location=str(root)),
    )
    return asyncio.run(run_fsck(settings, verify_digests=True)).checked


def _add_rows(database_url: str, *rows: object) -> None:
    async def run() -> None:
        engine = create_service_engine(database_url)
        try:
            async with async_sessionmaker(engine)() as session:
                for row in rows:
                    session.add(row)
                    await session.flush()
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _store_file(root: Path, data: bytes, digest: str | None = None) -> str:
    digest = digest or _digest(data)
    path = root / "sha256" / digest[7:9] / digest[7:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def test_the_check_tells_leftovers_from_broken_promises(tmp_path: Path, database_url: str) -> None:
    root = tmp_path / "blobs"
    FilesystemBlobStore(root).close()
    good = _store_file(root, b"good")
    orphan = _store_file(root, b"orphan: its upload was never acknowledged")
    short = _store_file(root, b"short", _digest(b"the row says longer"))
    missing = _digest(b"row without a file")
    (root / "_uploads" / ("f" * 32)).write_bytes(b"half an upload")
    (root / "_sessions" / ("a" * 32)).write_bytes(b"session without a row")
    (root / "sha256" / "zz").mkdir()
    (root / "sha256" / "zz" / "notes.txt").write_text("not a blob")
    now = utcnow()
    unpushed = _digest(b"a layer never pushed")
    _add_rows(
        database_url,
        Blob(digest=good, size=4, created_at=now),
        Blob(digest=short, size=len(b"the row says longer"), created_at=now),
        Blob(digest=missing, size=3, created_at=now),
        Namespace(id=1, name="acme", created_at=now),
        Repository(id=1, namespace_id=1, name="acme/model", created_at=now),
        Manifest(
            id=1,
            repository_id=1,
            digest=_digest(b"{}"),
            media_type="application/vnd.oci.image.manifest.v1+json",
            size=2,
            content=b"{}",
            annotations={},
            pushed_by="test",
            created_at=now,
        ),
        ManifestReference(
            manifest_id=1, position=0, role="layer", digest=good, media_type="x", size=4
        ),
        ManifestReference(
            manifest_id=1, position=1, role="layer", digest=unpushed, media_type="x", size=1
        ),
        UploadSession(
            id="b" * 32, repository_id=1, created_by="test", created_at=now, updated_at=now
        ),
    )
    report = _check(root, database_url)
    assert report.orphan_files == (orphan,)
    assert report.upload_temp_files == ("f" * 32,)
    assert report.orphan_session_files == ("a" * 32,)
    assert report.missing_files == (missing,)
    assert report.corrupt_files == (short,)
    assert report.wrong_sizes == ((short, len(b"the row says longer"), len(b"short")),)
    assert report.stray_files == ("sha256/zz/notes.txt",)
    assert report.dangling_references == ((_digest(b"{}"), unpushed),)
    assert report.sessions_without_file == ("b" * 32,)
    assert not report.consistent and len(report.inconsistencies) == 5
    assert report.leftovers == {
        "orphan_files": 1,
        "upload_temp_files": 1,
        "orphan_session_files": 1,
        "sessions_without_file": 1,
    }


def test_a_clean_store_is_consistent(tmp_path: Path, database_url: str) -> None:
    root = tmp_path / "blobs"
    FilesystemBlobStore(root).close()
    assert _check(root, database_url) == ConsistencyReport()


def test_the_crash_soak_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert crash_soak.main(["--rounds", "1", "--ops", "6", "--seed", "5"]) == 0
    output = capsys.readouterr().out
    assert "round 1: acknowledged" in output
    summary = json.loads(output[output.index("{") : output.rindex("}") + 1])
    assert summary["rounds"] == 1 and summary["inconsistencies"] == 0
    assert summary["verified"] == summary["acknowledged"]
    assert set(summary["orphans"]) == {
        "orphan_files", "upload_temp_files", "orphan_session_files", "sessions_without_file"
    }  # fmt: skip
