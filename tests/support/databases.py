"""An empty, migrated database for a module-scoped fixture parametrized by engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import _truncate_postgres


def fresh_database(request: pytest.FixtureRequest, root: Path) -> str:
    """The URL of an empty migrated database for ``request.param`` ("sqlite" or "postgresql"):
    a copy of the session's SQLite template under ``root``, or the test PostgreSQL database
    truncated."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, root / "custody.db")
        return f"sqlite:///{root / 'custody.db'}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url
