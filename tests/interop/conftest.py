"""A live ``custody serve`` per test module and engine, for clients nobody here wrote."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import _truncate_postgres
from tests.support.live import CUSTODY, cli_env, running_server


@dataclass
class LiveRegistry:
    base: str
    host: str  # host:port, as OCI references spell it
    data_dir: Path
    database_url: str

    def token(self, namespace: str = "acme", scopes: str = "pull,push,admin") -> str:
        result = subprocess.run(
            [CUSTODY, "token", "create", "--namespace", namespace, "--scopes", scopes],
            env=cli_env(self.data_dir, self.database_url),
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveRegistry]:
    root = tmp_path_factory.mktemp("live")
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, root / "custody.db")
        url = f"sqlite:///{root / 'custody.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        _truncate_postgres(url)
    with running_server(root / "data", url) as base:
        yield LiveRegistry(base, base.removeprefix("http://"), root / "data", url)


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients read ~/.docker/config.json: never the developer's own."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
