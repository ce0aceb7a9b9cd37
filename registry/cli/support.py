"""What every registry sub-command of ``custody`` shares: the data directory option, the
settings, one committed transaction. Below the command modules of :mod:`registry.cli`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.db import migrate
from registry.db.engine import create_service_engine
from registry.errors import RegistryError
from registry.settings import Settings

T = TypeVar("T")

_data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $CUSTODY_DATA_DIR or ./var).",
)


def _settings(
    data_dir: Path | None, *, host: str | None = None, port: int | None = None
) -> Settings:
    try:
        return Settings.from_env(None, data_dir=data_dir, host=host, port=port)
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None


def _run_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction, reporting errors as one line."""

    async def runner() -> T:
        engine = create_service_engine(settings.effective_database_url)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    _require_schema(settings)
    try:
        return asyncio.run(runner())
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None


def _one_line(exc: BaseException) -> str:
    """The driver's own message on one line, without SQLAlchemy's background links."""
    original = getattr(exc, "orig", None) or exc
    text = " ".join(line.strip() for line in str(original).splitlines() if line.strip())
    return f"{type(original).__name__}: {text}"


def _located(settings: Settings) -> Settings:
    """The settings anchored at the existing data directory; one error line otherwise."""
    try:
        return settings.located()
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None


def _require_database(settings: Settings) -> None:
    """Refuse, naming the directory looked in, when the registry's database is not there."""
    try:
        settings.require_database()
    except RegistryError as exc:
        raise click.ClickException(exc.diagnostics()) from None


def _require_schema(settings: Settings) -> None:
    _require_database(settings)
    try:
        current = migrate.current_revision(settings.effective_database_url)
    except Exception as exc:  # noqa: BLE001 - any connection failure is reported as one line
        raise click.ClickException(f"cannot reach the database: {_one_line(exc)}") from None
    head = migrate.head_revision()
    if current != head:
        raise click.ClickException(
            f"the database schema is at {current or 'nothing'}, expected {head}: "
            "run 'custody db upgrade'"
        )
