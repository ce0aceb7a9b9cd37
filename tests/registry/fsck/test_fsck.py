"""``custody fsck`` on the filesystem store, both engines: what it finds, says and repairs.

Blobs are pushed through ``/v2/`` (real rows, real files), then the store is
damaged by hand; the command runs as an operator runs it (``custody fsck``), and
the repair's effects are read back from the database and through ``/v2/``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from freezegun import freeze_time
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from custody.cli import cli
from registry.db.engine import create_service_engine
from registry.db.models import AuditEvent, Blob, GcReview, Namespace
from registry.settings import Settings
from signing.exit_codes import ExitCode
from tests.support.oci_client import Oci, oci_code
from tests.support.registry_helpers import sha256_digest


def fsck(settings: Settings, *args: str) -> Result:
    env = {"CUSTODY_DATABASE_URL": settings.effective_database_url, "CUSTODY_STORAGE": ""}
    return CliRunner().invoke(cli, ["fsck", "--data-dir", str(settings.data_dir), *args], env=env)


def as_json(settings: Settings, *args: str) -> dict[str, Any]:
    result = fsck(settings, "--json", *args)
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit_code"] = result.exit_code
    return report


def blob_file(settings: Settings, digest: str) -> Path:
    return settings.blob_dir / "sha256" / digest[7:9] / digest[7:]


def rows(settings: Settings, model: Any, *columns: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_service_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session:
                return list((await session.execute(select(*columns))).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def missing_marks(settings: Settings) -> dict[str, datetime | None]:
    return dict(rows(settings, Blob, Blob.digest, Blob.missing_since))


def test_a_clean_store_passes(oci: Oci, settings: Settings) -> None:
    oci.push_blob(b"layer one")
    oci.push_blob(b"layer two")
    result = fsck(settings)
    assert result.exit_code == 0, result.output
    assert "2 blob rows, 2 objects (sizes only)" in result.stdout
    assert "ok: the database and the blob store agree" in result.stdout
    scrub = fsck(settings, "--verify-digests")
    assert scrub.exit_code == 0 and "every object re-hashed" in scrub.stdout


def test_each_kind_of_problem_is_found_and_reported(oci: Oci, settings: Settings) -> None:
    intact = oci.push_blob(b"intact")
    lost = oci.push_blob(b"this blob's file will be deleted")
    resized = oci.push_blob(b"this one will be truncated")
    rotten = oci.push_blob(b"this one's bytes will flip")
    blob_file(settings, lost).unlink()
    blob_file(settings, resized).write_bytes(b"truncated")
    blob_file(settings, rotten).write_bytes(b"THIS ONE'S BYTES WILL FLIP")  # same size
    orphan = sha256_digest(b"bytes whose row never committed")
    blob_file(settings, orphan).parent.mkdir(parents=True, exist_ok=True)
    blob_file(settings, orphan).write_bytes(b"bytes whose row never committed")
    (settings.blob_dir / "sha256" / "ab" / "notes.txt").parent.mkdir(exist_ok=True)
    (settings.blob_dir / "sha256" / "ab" / "notes.txt").write_text("not a blob")
    misplaced = settings.blob_dir / "sha256" / "cd" / "ef" / intact[7:]  # a digest, one level deep
    misplaced.parent.mkdir(parents=True)
    misplaced.write_bytes(b"intact")
    (settings.blob_dir / "sha256" / "README").write_text("not a blob either")
    (settings.blob_dir / "_uploads" / ("e" * 32)).write_bytes(b"half an upload")

    result = fsck(settings)
    assert result.exit_code == ExitCode.STORE == 23
    lines = result.stdout.splitlines()
    assert f"PROBLEM blob {lost} has a row but no file" in lines
    assert f"PROBLEM blob {resized} has a row of 26 bytes but a file of 9" in lines
    assert f"PROBLEM object {orphan} has no blob row (orphan: garbage once reviewed)" in lines
    for stray in ("sha256/ab/notes.txt", f"sha256/cd/ef/{intact[7:]}", "sha256/README"):
        assert f"PROBLEM file {stray} in the blob tree is not named by a digest" in lines
    assert f"leftover temporary upload {'e' * 32}" in lines
    assert not any(rotten in line for line in lines)  # same size: only a scrub sees it
    assert not any(intact in line for line in lines if "blob tree" not in line)
    assert result.stderr.splitlines() == [
        "FAILED [fsck]: 6 problems (1 orphan objects, 1 missing, 1 size mismatches, "
        "3 stray names); 'custody fsck --repair' queues orphans and marks lost blobs"
    ]

    scrub = as_json(settings, "--verify-digests")
    assert scrub["exit_code"] == 23
    assert scrub["corrupt"] == sorted([rotten, resized])
    assert scrub["counts"]["problems"] == 8


def test_json_report_shape(oci: Oci, settings: Settings) -> None:
    kept = oci.push_blob(b"kept")
    gone = oci.push_blob(b"gone")
    blob_file(settings, gone).unlink()
    report = as_json(settings)
    assert report.pop("exit_code") == 23
    assert report.pop("store") == f"storage: filesystem {settings.blob_dir}"
    assert report == {
        "ok": False,
        "verified_digests": False,
        "counts": {
            "blob_rows": 2,
            "objects": 1,
            "orphans": 0,
            "missing": 1,
            "size_mismatches": 0,
            "corrupt": 0,
            "stray": 0,
            "dangling_references": 0,
            "found_again": 0,
            "usage_drift": 0,
            "upload_leftovers": 0,
            "problems": 1,
        },
        "orphans": [],
        "missing": [{"digest": gone, "marked": False}],
        "size_mismatches": [],
        "corrupt": [],
        "stray": [],
        "dangling_references": [],
        "found_again": [],
        "usage_drift": [],
        "upload_leftovers": {
            "temporary": [],
            "sessions_without_row": [],
            "rows_without_session": [],
        },
        "repair": None,
    }
    assert kept not in json.dumps(report)


def test_repair_queues_orphans_once_and_marks_lost_blobs(oci: Oci, settings: Settings) -> None:
    lost = oci.push_blob(b"lost")
    rotten = oci.push_blob(b"rotten")
    blob_file(settings, lost).unlink()
    blob_file(settings, rotten).write_bytes(b"ROTTEN")
    orphan = sha256_digest(b"orphan")
    blob_file(settings, orphan).parent.mkdir(parents=True, exist_ok=True)
    blob_file(settings, orphan).write_bytes(b"orphan")

    now = datetime(2031, 5, 1, 12, tzinfo=UTC)
    with freeze_time(now):
        report = as_json(settings, "--repair", "--verify-digests", "--gc-delay", "3600")
    assert report["exit_code"] == 23  # what was found is still reported
    assert report["repair"] == {
        "queued_orphans": [orphan],
        "already_queued": [],
        "marked_missing": sorted([lost, rotten]),
        "cleared_missing": [],
        "recounted_usage": [],
    }
    queued = rows(settings, GcReview, GcReview.kind, GcReview.digest, GcReview.reason,
                  GcReview.review_after)  # fmt: skip
    # Pushed blobs are queued on upload too (the collector's own feed): fsck adds only the orphan.
    queued = [row for row in queued if row[2] == "fsck orphan"]
    assert [(k, d, r) for k, d, r, _ in queued] == [("blob", orphan, "fsck orphan")]
    assert queued[0][3].replace(tzinfo=UTC) == now + timedelta(hours=1)
    marks = missing_marks(settings)
    assert marks[lost] is not None and marks[rotten] is not None
    assert marks[lost].replace(tzinfo=UTC) == now  # type: ignore[union-attr]
    events = rows(settings, AuditEvent, AuditEvent.actor, AuditEvent.action, AuditEvent.detail)
    repair = [e for e in events if e[1] == "fsck.repair"]
    assert len(repair) == 1 and repair[0][0] == "custody:fsck"
    assert repair[0][2]["queued_orphans"] == 1 and repair[0][2]["marked_missing"] == 2

    again = as_json(settings, "--repair")
    assert again["repair"]["queued_orphans"] == [] and again["repair"]["already_queued"] == [orphan]
    assert again["repair"]["marked_missing"] == []  # marked once
    assert {m["digest"]: m["marked"] for m in again["missing"]} == {lost: True}
    assert [r for (r,) in rows(settings, GcReview, GcReview.reason)].count("fsck orphan") == 1


def test_a_usage_counter_that_drifted_is_found_and_recounted(oci: Oci, settings: Settings) -> None:
    oci.push_blob(b"counted once")
    assert fsck(settings).exit_code == 0  # every write keeps the counter exact

    async def edit_by_hand() -> None:  # what a restored backup or a hand edit can do
        engine = create_service_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine)() as session:
                await session.execute(
                    update(Namespace)
                    .where(Namespace.name == "acme")
                    .values(usage_bytes=Namespace.usage_bytes + 1000)
                )
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(edit_by_hand())
    (used,) = [u for n, u in rows(settings, Namespace, Namespace.name, Namespace.usage_bytes)
               if n == "acme"]  # fmt: skip
    found = fsck(settings)
    assert found.exit_code == ExitCode.STORE, found.output
    assert f"namespace acme usage counter says {used} bytes, its rows add up to {used - 1000}" in (
        found.stdout
    )
    report = as_json(settings, "--repair")
    assert report["usage_drift"] == [
        {"namespace": "acme", "counter": used, "computed": used - 1000}
    ]
    assert report["repair"]["recounted_usage"] == ["acme"]
    assert dict(rows(settings, Namespace, Namespace.name, Namespace.usage_bytes))["acme"] == (
        used - 1000
    )
    events = rows(settings, AuditEvent, AuditEvent.action, AuditEvent.detail)
    assert [d["recounted_usage"] for a, d in events if a == "fsck.repair"] == [["acme"]]
    assert fsck(settings).exit_code == 0


def test_a_blob_marked_missing_is_unknown_until_its_bytes_are_back(
    oci: Oci, settings: Settings
) -> None:
    data = b"a layer the disk lost"
    digest = oci.push_blob(data)
    saved = blob_file(settings, digest).read_bytes()
    blob_file(settings, digest).unlink()
    assert fsck(settings, "--repair").exit_code == 23
    url = f"/v2/acme/model/blobs/{digest}"
    for method in ("GET", "HEAD"):
        response = oci.client.request(method, url, headers=oci.headers)
        assert response.status_code == 404, (method, response.text)
    assert oci_code(oci.client.get(url, headers=oci.headers)) == "BLOB_UNKNOWN"
    # a mount from a repository holding it finds nothing to mount either
    mount = oci.client.post(
        f"/v2/acme/other/blobs/uploads/?mount={digest}&from=acme/model", headers=oci.headers
    )
    assert mount.status_code == 202  # an upload session, not a mount (201)

    # The file comes back (restored from a backup): the next repair clears the mark.
    blob_file(settings, digest).write_bytes(saved)
    found = as_json(settings)
    assert found["found_again"] == [digest] and found["exit_code"] == 23
    repaired = as_json(settings, "--repair")
    assert repaired["repair"]["cleared_missing"] == [digest]
    assert missing_marks(settings)[digest] is None
    assert fsck(settings).exit_code == 0
    assert oci.client.get(url, headers=oci.headers).content == data


def test_a_mark_is_not_cleared_for_bytes_that_came_back_damaged(
    oci: Oci, settings: Settings
) -> None:
    digest = oci.push_blob(b"original bytes")
    blob_file(settings, digest).unlink()
    fsck(settings, "--repair")
    blob_file(settings, digest).write_bytes(b"ORIGINAL BYTES")  # right size, wrong bytes
    report = as_json(settings, "--repair")  # no --verify-digests: marked blobs are hashed
    assert report["found_again"] == [] and report["repair"]["cleared_missing"] == []
    assert missing_marks(settings)[digest] is not None


def test_pushing_a_lost_blob_again_clears_its_mark(oci: Oci, settings: Settings) -> None:
    data = b"pushed again by a client that saw 404"
    digest = oci.push_blob(data)
    blob_file(settings, digest).unlink()
    fsck(settings, "--repair")
    assert missing_marks(settings)[digest] is not None
    oci.push_blob(data)
    assert missing_marks(settings)[digest] is None
    assert oci.client.get(f"/v2/acme/model/blobs/{digest}", headers=oci.headers).content == data
    assert fsck(settings).exit_code == 0


@pytest.mark.parametrize("args", [["--gc-delay", "-1"], ["--bogus"]])
def test_bad_options_are_one_line(settings: Settings, args: list[str]) -> None:
    result = fsck(settings, *args)
    assert result.exit_code == 2 and "Traceback" not in result.output
