"""``custody demo remove``: take the demo content out of the registry (docs/demo.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncSession

from registry.cli.support import _data_dir_option, _located, _run_db, _settings
from registry.demo.remove import Removed, remove_demo_files, remove_demo_rows
from registry.demo.seed import DEMO_NAMESPACE


@click.group()
def demo() -> None:
    """The demo namespace `make run` seeds on an empty registry."""


@demo.command("remove")
@_data_dir_option
def demo_remove(data_dir: Path | None) -> None:
    """Delete the demo namespace, its models, outputs and files; blobs go to the collector."""
    settings = _located(_settings(data_dir))
    removed = Removed()

    async def work(session: AsyncSession) -> None:
        await remove_demo_rows(session, removed, delay=timedelta(seconds=settings.gc.delay_seconds))

    _run_db(settings, work)
    remove_demo_files(settings, removed)
    if removed.nothing:
        click.echo(f"nothing to remove: no namespace '{DEMO_NAMESPACE}' and no demo files")
        return
    if removed.namespace:
        click.echo(
            f"removed namespace '{DEMO_NAMESPACE}': "
            f"{len(removed.repositories)} repositories ({', '.join(removed.repositories)}), "
            f"{removed.tags} tags, {removed.manifests} manifests, {removed.blob_links} blob "
            f"links, {removed.outputs} outputs, {removed.reprints} reprints, "
            f"{removed.tokens} tokens"
        )
        click.echo(
            "blobs are queued for the garbage collector; log and audit entries stay (append-only)"
        )
    if removed.files:
        click.echo(f"removed {settings.data_dir / 'demo'} (demo key, policies and files)")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"demo": demo}
