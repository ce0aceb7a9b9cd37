"""Engines for both databases from one user-facing URL.

Users write ``sqlite:///path`` or ``postgresql://user@host/db``; the registry
runs async (aiosqlite, psycopg 3) and Alembic runs sync (sqlite3, psycopg 3).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from registry.errors import ConfigurationError


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None


def sync_url(url: str) -> URL:
    """The URL for synchronous use (migrations, CLI)."""
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+psycopg")
    raise ConfigurationError(f"database {backend!r} is not supported (use sqlite or postgresql)")


def async_url(url: str) -> URL:
    """The URL for the async service."""
    parsed = sync_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed


#: How long a SQLite statement waits for another writer before "database is locked" (the
#: registry then answers 503 with Retry-After: registry.http.problems).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run during a write; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_sync_engine(url: str, *, echo: bool = False, ping: bool = True) -> Engine:
    """A synchronous engine; ``ping=False`` skips the liveness query on checkout (for a
    caller that retries on a dropped connection anyway)."""
    engine = create_engine(sync_url(url), echo=echo, pool_pre_ping=ping)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_service_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    target = async_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if target.get_backend_name() == "postgresql":
        # A server can drop idle connections; SQLite files cannot go away under us.
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(target, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine
