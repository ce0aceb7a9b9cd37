"""Shared fixtures: the database on both engines, settings, apps and tokens.

Every test that asks for ``database_url`` runs twice, on SQLite and on
PostgreSQL. The schema is built by the Alembic migrations (once per run per
engine), never by ``create_all``; each test then starts from empty tables.
PostgreSQL comes from ``CUSTODY_TEST_POSTGRES_URL`` or the local server; if it
cannot be reached the PostgreSQL half is skipped loudly, and under CI it fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from registry.auth import IssuedToken
from registry.db import migrate
from registry.db.engine import create_sync_engine
from registry.db.models import Base
from registry.settings import DatabaseSettings, Settings
from tests.support.seaweedfs import seaweedfs
from tests.support.tokens import issue

__all__ = ["seaweedfs"]  # a session fixture: one SeaweedFS per run, started on demand

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
_PG_SKIP_REASON: list[str] = []


def _postgres_admin_url() -> str:
    return os.environ.get("CUSTODY_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def _postgres_reachable(url: str) -> str | None:
    parsed = make_url(url)
    try:
        with psycopg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            dbname=parsed.database,
            connect_timeout=3,
        ):
            return None
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}".strip()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "custody.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    admin_url = _postgres_admin_url()
    problem = _postgres_reachable(admin_url)
    if problem is not None:
        message = f"PostgreSQL at {admin_url} is unreachable ({problem})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the suite on both engines", pytrace=False)
        _PG_SKIP_REASON.append(message)
        pytest.skip(message)
    name = f"custody_test_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url)
    with psycopg.connect(
        host=admin.host,
        port=admin.port or 5432,
        user=admin.username,
        password=admin.password,
        dbname=admin.database,
        autocommit=True,
    ) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    url = admin.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(
            host=admin.host,
            port=admin.port or 5432,
            user=admin.username,
            password=admin.password,
            dbname=admin.database,
            autocommit=True,
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _truncate_postgres(url: str) -> None:
    engine = create_sync_engine(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, fully migrated database on each engine in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "custody.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database=DatabaseSettings(url=database_url))


TokenFactory = Callable[..., IssuedToken]


@pytest.fixture
def make_token(settings: Settings) -> TokenFactory:
    """Issue a real token straight through the service, as the CLI does."""

    def factory(
        namespace: str = "acme",
        scopes: str = "pull,push",
        expires_in: timedelta | None = timedelta(hours=1),
    ) -> IssuedToken:
        return issue(settings.effective_database_url, namespace, scopes, expires_in)

    return factory


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _PG_SKIP_REASON:
        terminalreporter.write_sep("!", "POSTGRESQL WAS NOT TESTED", red=True, bold=True)
        terminalreporter.write_line(_PG_SKIP_REASON[0], red=True, bold=True)
        terminalreporter.write_line(
            "Set CUSTODY_TEST_POSTGRES_URL or start the local server; CI refuses this.", red=True
        )
