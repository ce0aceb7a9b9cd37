"""``custody gc``: run a garbage-collection pass now, or list what one would remove."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import async_sessionmaker

from registry.app import open_configured_blob_store
from registry.cli.support import _data_dir_option, _one_line, _require_schema, _settings
from registry.db.engine import create_service_engine
from registry.errors import RegistryError
from registry.gc.collector import Collector, PassReport
from registry.settings import Settings


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


async def _run(settings: Settings, *, dry_run: bool, now: bool) -> PassReport:
    engine = create_service_engine(settings.effective_database_url)
    blobs = open_configured_blob_store(settings)
    try:
        collector = Collector(
            async_sessionmaker(engine, expire_on_commit=False),
            blobs,
            delay=timedelta(0) if now else timedelta(seconds=settings.gc.delay_seconds),
            collect_untagged=settings.gc.collect_untagged,
        )
        return await collector.run_pass(dry_run=dry_run, ignore_delay=now)
    finally:
        await engine.dispose()
        blobs.close()


@click.command("gc")
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@click.option(
    "--now",
    is_flag=True,
    help="Review every queued entry without waiting for its delay (CUSTODY_GC_DELAY_SECONDS); "
    "what this pass unreferences is reviewed in the same pass.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_data_dir_option
def gc(dry_run: bool, now: bool, as_json: bool, data_dir: Path | None) -> None:
    """Remove queued blobs and manifests that nothing references any more.

    Only entries whose review delay has passed are considered (all of them with
    --now); each is re-checked under lock before it goes. Versions, what they
    reference, and their signatures and SBOMs are never removed.
    """
    settings = _settings(data_dir)
    _require_schema(settings)
    if settings.storage.location == "file":
        try:
            settings = settings.located()
        except RegistryError as exc:
            raise click.ClickException(exc.diagnostics()) from None
    try:
        report = asyncio.run(_run(settings, dry_run=dry_run, now=now))
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None
    except Exception as exc:  # noqa: BLE001 - a database or store failure is one line
        raise click.ClickException(f"garbage collection failed: {_one_line(exc)}") from None
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, **report.as_json()}, indent=2))
    else:
        verb = "would remove" if dry_run else "removed"
        for item in report.manifests:
            click.echo(f"manifest {item.repository}@{item.digest} {_human(item.size)}")
        for item in report.blobs:
            click.echo(f"blob {item.digest} {_human(item.size)}")
        click.echo(
            f"{verb} {len(report.blobs)} blobs ({_human(report.bytes_freed)}, "
            f"{report.bytes_freed} bytes) and {len(report.manifests)} manifests; "
            f"{report.kept} still referenced, {report.deferred} deferred"
        )
    if report.errors:
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(1)


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"gc": gc}
