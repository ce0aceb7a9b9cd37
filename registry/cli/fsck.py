"""``custody fsck``: compare the metadata database with the blob store; optionally repair.

Reports orphan objects (bytes with no ``blobs`` row), rows whose object is missing
or has another size, stray names in the blob tree, manifest references to blobs
with no row, and what uploads left behind; ``--verify-digests`` also re-hashes
every object (a scrub, bounded memory). ``--repair`` queues orphans for the
garbage collector and marks lost blobs (``blobs.missing_since``), which the
registry then answers ``BLOB_UNKNOWN`` for until they are pushed again (see
:mod:`registry.gc.fsck`).

Exit status: 0 when the two agree, 23 (``store``) when a problem was found
(whether or not ``--repair`` queued or marked it), 1 when the check could not run.
Upload leftovers are listed but are no problem: the server purges them after
``CUSTODY_UPLOAD_EXPIRY_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import async_sessionmaker

from registry.cli.support import _data_dir_option, _located, _one_line, _require_schema, _settings
from registry.db.engine import create_service_engine
from registry.errors import RegistryError
from registry.gc.fsck import DEFAULT_GC_DELAY, FsckReport, fsck
from registry.settings import Settings
from signing.exit_codes import ExitCode, fail

__all__ = ["COMMANDS", "run_fsck"]


async def run_fsck(
    settings: Settings,
    *,
    verify_digests: bool = False,
    repair: bool = False,
    gc_delay: timedelta = DEFAULT_GC_DELAY,
) -> FsckReport:
    """Check the database and the blob store ``settings`` name (what ``custody fsck`` runs)."""
    from registry.app import open_configured_blob_store  # loads the app only when used

    engine = create_service_engine(settings.effective_database_url)
    store = open_configured_blob_store(settings)
    try:
        return await fsck(
            async_sessionmaker(engine, expire_on_commit=False),
            store,
            verify_digests=verify_digests,
            repair=repair,
            gc_delay=gc_delay,
        )
    finally:
        store.close()
        await engine.dispose()


@click.command("fsck")
@_data_dir_option
@click.option(
    "--verify-digests",
    is_flag=True,
    help="Read every object back and check it hashes to its name (reads the whole store).",
)
@click.option(
    "--repair",
    is_flag=True,
    help="Queue orphan objects for garbage collection and mark lost blobs missing "
    "(clearing the mark of those found back). Deletes nothing.",
)
@click.option(
    "--gc-delay",
    type=click.IntRange(min=0),
    default=int(DEFAULT_GC_DELAY.total_seconds()),
    show_default=True,
    help="Seconds a queued orphan waits before the collector may review it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def fsck_command(
    data_dir: Path | None, verify_digests: bool, repair: bool, gc_delay: int, as_json: bool
) -> None:
    """Compare the metadata database with the blob store (run it on an idle registry)."""
    settings = _located(_settings(data_dir))
    _require_schema(settings)
    if not settings.storage.is_s3 and not Path(settings.blob_location).is_dir():
        raise click.ClickException(f"no blob store at {settings.blob_location}")
    try:
        report = asyncio.run(
            run_fsck(
                settings,
                verify_digests=verify_digests,
                repair=repair,
                gc_delay=timedelta(seconds=gc_delay),
            )
        )
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None
    except Exception as exc:  # noqa: BLE001 - an unreachable store or database: one line
        raise click.ClickException(f"cannot check the blob store: {_one_line(exc)}") from None
    where = settings.storage.describe(settings.blob_location)
    if as_json:
        click.echo(json.dumps({"store": where, **report.as_json()}, indent=2))
    else:
        _print_text(report, where)
    if not report.clean:
        counts = report.counts()
        found = ", ".join(
            f"{counts[key]} {label}"
            for key, label in _SUMMARY
            if counts[key]  # only the kinds found
        )
        fail(
            "fsck",
            f"{counts['problems']} problems ({found})",
            ExitCode.STORE,
            hint="'custody fsck --repair' queues orphans and marks lost blobs"
            if not repair
            else "",
        )


_SUMMARY = (
    ("orphans", "orphan objects"),
    ("missing", "missing"),
    ("size_mismatches", "size mismatches"),
    ("corrupt", "corrupt"),
    ("stray", "stray names"),
    ("dangling_references", "dangling references"),
    ("found_again", "marked missing but back"),
)


def _print_text(report: FsckReport, where: str) -> None:
    c = report.checked
    scrub = "every object re-hashed" if report.verified_digests else "sizes only"
    click.echo(f"{where}: {c.blob_rows} blob rows, {c.blob_files} objects ({scrub})")
    for line in report.problems:
        click.echo(f"PROBLEM {line}")
    for line in report.leftovers:
        click.echo(f"leftover {line}")
    repairs = report.repairs
    if repairs is not None:
        click.echo(
            f"repaired: {len(repairs.queued_orphans)} orphan objects queued for garbage "
            f"collection ({len(repairs.already_queued)} already queued), "
            f"{len(repairs.marked_missing)} blobs marked missing, "
            f"{len(repairs.cleared_missing)} marks cleared"
        )
    if report.clean:
        click.echo("ok: the database and the blob store agree")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"fsck": fsck_command}
