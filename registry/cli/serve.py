"""``custody serve`` and ``custody db``: run the registry service and migrate its database."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from registry.cli.support import (
    _data_dir_option,
    _located,
    _one_line,
    _require_database,
    _require_schema,
    _settings,
)
from registry.db import migrate
from registry.errors import RegistryError


@click.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080).")
@_data_dir_option
@click.option("--workers", type=int, default=1, show_default=True)
def serve(host: str | None, port: int | None, data_dir: Path | None, workers: int) -> None:
    """Run the registry service (SQLite and ./var by default)."""
    import uvicorn

    # The blob store always lives under the data directory, whatever the database.
    settings = _located(_settings(data_dir, host=host, port=port))
    _require_schema(settings)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from registry.app import create_app
    from registry.demo.seed import demo_policies, prepare, seed_in_background

    # Demo content (CUSTODY_DEMO, on in `make run`): prepared before the app loads its
    # policies, pushed over HTTP once the server answers; a failure is one log line.
    try:
        plan = prepare(settings)
    except Exception as exc:  # noqa: BLE001 - the server starts without the demo
        logging.getLogger("registry.demo").warning(
            "demo: not seeded, the server carries on: %s", _one_line(exc)
        )
        plan = None
    settings = demo_policies(settings)

    try:
        app = create_app(settings)
    except RegistryError as exc:  # a bad policy file: one line naming the file and line
        raise click.ClickException(exc.diagnostics()) from None
    click.echo(
        f"custody registry on http://{settings.http.host}:{settings.http.port} "
        f"(data in {settings.data_dir})",
        err=True,
    )
    if plan is not None:
        seed_in_background(settings, plan)
    uvicorn.run(
        app,
        host=settings.http.host,
        port=settings.http.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="info",
        access_log=False,
    )


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@_data_dir_option
@click.option("--revision", default="head", show_default=True)
def db_upgrade(data_dir: Path | None, revision: str) -> None:
    """Apply the Alembic migrations."""
    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        migrate.upgrade(settings.effective_database_url, revision)
    except Exception as exc:  # noqa: BLE001 - report as one line, exit non-zero
        raise click.ClickException(f"migration failed: {_one_line(exc)}") from None
    click.echo(f"database at revision {migrate.current_revision(settings.effective_database_url)}")


@db.command("current")
@_data_dir_option
def db_current(data_dir: Path | None) -> None:
    """Print the database's current migration revision."""
    settings = _settings(data_dir)
    _require_database(settings)
    click.echo(migrate.current_revision(settings.effective_database_url) or "none")


#: The commands this module registers under ``custody`` (see :mod:`custody.cli`).
COMMANDS: dict[str, click.Command] = {"serve": serve, "db": db}
