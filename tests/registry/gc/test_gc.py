"""Online garbage collection: what is queued, what the delay protects, what is never removed,
and what a pass (or ``custody gc``) reports and audits. Both database engines."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import select

from custody.cli import cli as custody_main
from registry.db.models import AuditEvent, Manifest
from registry.gc.collector import PassReport
from registry.settings import GcSettings, Settings
from tests.registry.gc.support import Registry, index, manifest, registry
from tests.support.registry_helpers import sha256_digest

NOTE = "application/vnd.example.note.v1+json"


@pytest.fixture
def gc_settings(settings: Settings) -> Settings:
    return replace(settings, gc=GcSettings(enabled=False, delay_seconds=3600))


@pytest.fixture
def token(make_token: Any) -> str:
    secret: str = make_token(scopes="admin").secret
    return secret


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _push(reg: Registry, reference: str, layers: list[bytes], **kw: Any) -> bytes:
    for data in [b"{}", *layers]:
        assert (await reg.push_blob(data)).status_code == 201
    body = manifest(layers, **kw)
    response = await reg.put_manifest(reference, body)
    assert response.status_code == 201, response.text
    return body


async def _audit(reg: Registry, prefix: str) -> list[AuditEvent]:
    async with reg.services.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action.like(f"{prefix}%")).order_by(AuditEvent.id)
        )
        return list(rows.all())


def test_every_source_queues_for_review(gc_settings: Settings, token: str) -> None:
    async def work() -> list[tuple[str, str, str]]:
        async with registry(gc_settings, token) as reg:
            version = await _push(reg, "1.0.0", [b"weights"])
            untagged = await _push(reg, sha256_digest(manifest([b"other"])), [b"other"])
            assert (await reg.put_manifest("latest", version)).status_code == 201
            moved = await _push(reg, "staging", [b"third"])
            assert (await reg.put_manifest("staging", version)).status_code == 201  # move
            await reg.client.delete("/v2/acme/model/manifests/latest")  # alias delete
            deleted = await reg.client.delete(f"/v2/acme/model/manifests/{sha256_digest(untagged)}")
            assert deleted.status_code == 202
            assert (await reg.push_blob(b"loose")).status_code == 201
            unlinked = await reg.client.delete(f"/v2/acme/model/blobs/{sha256_digest(b'loose')}")
            assert unlinked.status_code == 202
            # A push the admission policy refuses (a pickle file): its blob was queued on upload.
            pickle = b"\x80\x04pickle"
            await reg.push_blob(pickle)
            refused = manifest([pickle]).replace(
                b'"layers":[{',
                b'"layers":[{"annotations":{"org.opencontainers.image.title":"model.pkl"},',
                1,
            )
            assert (await reg.put_manifest("2.0.0", refused)).status_code >= 400
            assert moved
            return await reg.reviews()

    reviews = run(work())
    reasons = {(kind, reason) for kind, _, reason in reviews}
    assert ("blob", "blob.upload") in reasons
    assert ("manifest", "manifest.untagged") in reasons
    assert ("manifest", "alias.move") in reasons
    assert ("manifest", "alias.delete") in reasons
    assert ("blob", "manifest.delete") in reasons
    assert ("blob", "blob.unlink") in reasons
    assert ("blob", sha256_digest(b"\x80\x04pickle"), "blob.upload") in reviews


def test_the_delay_is_respected(gc_settings: Settings, token: str) -> None:
    start = datetime.now(UTC)

    async def work() -> tuple[PassReport, PassReport, tuple[bool, bool]]:
        async with registry(gc_settings, token) as reg:
            with freeze_time(start, real_asyncio=True):
                assert (await reg.push_blob(b"abandoned")).status_code == 201
            collector = reg.collector(timedelta(hours=1))
            with freeze_time(start + timedelta(minutes=59), real_asyncio=True):
                early = await collector.run_pass()
            with freeze_time(start + timedelta(minutes=61), real_asyncio=True):
                late = await collector.run_pass()
            return early, late, await reg.blob_present(sha256_digest(b"abandoned"))

    early, late, present = run(work())
    assert early.collected == []
    assert [c.digest for c in late.blobs] == [sha256_digest(b"abandoned")]
    assert present == (False, False)


def test_a_blob_referenced_during_the_delay_is_kept(gc_settings: Settings, token: str) -> None:
    async def work() -> tuple[PassReport, tuple[bool, bool], list[Any]]:
        async with registry(gc_settings, token) as reg:
            assert (await reg.push_blob(b"reused")).status_code == 201  # queued on upload
            await _push(reg, "1.0.0", [b"reused"])
            report = await reg.collector().run_pass(ignore_delay=True)
            return report, await reg.blob_present(sha256_digest(b"reused")), await reg.reviews()

    report, present, reviews = run(work())
    assert report.collected == [] and report.kept >= 2
    assert present == (True, True)
    assert reviews == []  # reviewed and dropped


def test_versions_their_index_and_referrers_are_never_collected(
    gc_settings: Settings, token: str
) -> None:
    async def work() -> tuple[PassReport, PassReport, list[str]]:
        async with registry(gc_settings, token) as reg:
            child = await _push(reg, sha256_digest(manifest([b"part"])), [b"part"])
            top = index([child])
            put = await reg.put_manifest(
                "1.0.0", top, media_type="application/vnd.oci.image.index.v1+json"
            )
            assert put.status_code == 201, put.text
            version = await _push(reg, "1.1.0", [b"weights"])
            note = await _push(
                reg,
                sha256_digest(manifest([b"sig"], subject=version, artifact_type=NOTE)),
                [b"sig"],
                subject=version,
                artifact_type=NOTE,
            )
            note_on_note = await _push(
                reg,
                sha256_digest(manifest([b"sig2"], subject=note, artifact_type=NOTE)),
                [b"sig2"],
                subject=note,
                artifact_type=NOTE,
            )
            # Everything queued, again and again: still nothing goes.
            from registry.gc.queue import enqueue

            async with reg.services.sessionmaker() as session:
                digests = list((await session.scalars(select(Manifest.digest))).all())
                await enqueue(
                    session,
                    digests,
                    kind="manifest",
                    reason="test",
                    delay=timedelta(0),
                    repository_id=None,
                )
                await enqueue(
                    session,
                    [sha256_digest(d) for d in (b"{}", b"part", b"weights", b"sig", b"sig2")],
                    kind="blob",
                    reason="test",
                    delay=timedelta(0),
                )
                await session.commit()
            kept = await reg.collector().run_pass(ignore_delay=True)
            # An untagged manifest and its referrer go, and then their blobs (the cascade).
            lone = await _push(reg, sha256_digest(manifest([b"lone"])), [b"lone"])
            await _push(
                reg,
                sha256_digest(manifest([b"lone-sig"], subject=lone, artifact_type=NOTE)),
                [b"lone-sig"],
                subject=lone,
                artifact_type=NOTE,
            )
            gone = await reg.collector().run_pass(ignore_delay=True)
            async with reg.services.sessionmaker() as session:
                left = sorted((await session.scalars(select(Manifest.digest))).all())
            assert note_on_note
            return kept, gone, left

    kept, gone, left = run(work())
    assert kept.collected == [], kept.collected
    assert len(left) == 5  # child, index, version, note, note on note
    assert len(gone.manifests) == 2
    assert {c.digest for c in gone.blobs} == {sha256_digest(b"lone"), sha256_digest(b"lone-sig")}


def test_dry_run_lists_bytes_and_removes_nothing(gc_settings: Settings, token: str) -> None:
    async def work() -> tuple[PassReport, PassReport, list[AuditEvent]]:
        async with registry(gc_settings, token) as reg:
            await reg.push_blob(b"a" * 100)
            await reg.push_blob(b"b" * 50)
            dry = await reg.collector().run_pass(dry_run=True, ignore_delay=True)
            real = await reg.collector().run_pass(ignore_delay=True)
            return dry, real, await _audit(reg, "gc.")

    dry, real, audit = run(work())
    assert dry.bytes_freed == 150 and len(dry.blobs) == 2
    assert real.bytes_freed == 150  # the dry run removed nothing and kept the queue
    assert sorted(e.detail["size"] for e in audit if e.action == "gc.blob.delete") == [50, 100]
    assert {e.actor for e in audit} == {"gc"}


def test_manifest_collection_is_audited_with_its_size(gc_settings: Settings, token: str) -> None:
    async def work() -> list[AuditEvent]:
        async with registry(gc_settings, token) as reg:
            body = await _push(reg, sha256_digest(manifest([b"x"])), [b"x"])
            await reg.collector().run_pass(ignore_delay=True)
            events = await _audit(reg, "gc.manifest")
            assert events[0].detail["size"] == len(body)
            return events

    events = run(work())
    assert [e.action for e in events] == ["gc.manifest.delete"]
    assert events[0].subject.startswith("acme/model@sha256:")


def _cli(data_dir: Path, database_url: str, *args: str) -> Any:
    env = {"CUSTODY_DATA_DIR": str(data_dir), "CUSTODY_DATABASE_URL": database_url}
    return CliRunner().invoke(custody_main, ["gc", *args], env=env)


def test_custody_gc_dry_run_json_then_now(gc_settings: Settings, token: str) -> None:
    async def work() -> None:
        async with registry(gc_settings, token) as reg:
            await reg.push_blob(b"z" * 10)

    run(work())
    url = gc_settings.effective_database_url
    listed = _cli(gc_settings.data_dir, url, "--dry-run", "--json", "--now")
    assert listed.exit_code == 0, listed.output
    document = json.loads(listed.output)
    assert document["dry_run"] is True and document["bytes_freed"] == 10
    waiting = _cli(gc_settings.data_dir, url)  # the 24-hour default delay has not passed
    assert waiting.exit_code == 0 and "removed 0 blobs" in waiting.output
    removed = _cli(gc_settings.data_dir, url, "--now")
    assert removed.exit_code == 0, removed.output
    assert "removed 1 blobs (10 B, 10 bytes)" in removed.output


def test_custody_gc_errors_are_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        custody_main,
        ["gc", "--data-dir", str(tmp_path / "nowhere")],
        env={"CUSTODY_DATABASE_URL": ""},
    )
    assert result.exit_code != 0
    assert result.output.count("\n") == 1 and "Error:" in result.output
    assert "Traceback" not in result.output


def test_the_background_worker_collects_and_counts(gc_settings: Settings, token: str) -> None:
    """``custody serve``'s worker (started by the lifespan) collects and feeds the metrics."""
    settings = replace(
        gc_settings, gc=GcSettings(enabled=True, delay_seconds=0, interval_seconds=1)
    )

    async def work() -> tuple[tuple[bool, bool], str]:
        async with registry(settings, token) as reg:
            assert (await reg.push_blob(b"q" * 7)).status_code == 201
            for _ in range(100):  # the first pass starts after one interval
                if await reg.blob_present(sha256_digest(b"q" * 7)) == (False, False):
                    break
                await asyncio.sleep(0.1)
            metrics = (await reg.client.get("/metrics")).text
            return await reg.blob_present(sha256_digest(b"q" * 7)), metrics

    present, metrics = run(work())
    assert present == (False, False)
    assert "custody_gc_collected_blobs_total 1.0" in metrics
    assert "custody_gc_collected_bytes_total 7.0" in metrics
