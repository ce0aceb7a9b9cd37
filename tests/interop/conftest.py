"""A live ``custody serve`` per test module and engine, for clients nobody here wrote.

``live_registry`` keeps its blobs on disk; ``redirecting`` keeps them in the session's
SeaweedFS (a prefix of its own per module and engine) and answers an allowed blob GET
with 307 to a presigned URL (``CUSTODY_S3_REDIRECT_SECONDS``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import _truncate_postgres
from tests.support.databases import fresh_database
from tests.support.live import CUSTODY, cli_env, running_server
from tests.support.seaweedfs import SeaweedFS


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


@dataclass
class Redirecting:
    base: str
    data_dir: Path
    database_url: str
    server: SeaweedFS
    prefix: str

    @property
    def host(self) -> str:
        return self.base.removeprefix("http://")

    @property
    def store_host(self) -> str:
        return urlsplit(self.server.endpoint_url).netloc

    def token(self, namespace: str = "acme", scopes: str = "pull,push") -> str:
        created = subprocess.run(
            [CUSTODY, "token", "create", "--namespace", namespace, "--scopes", scopes],
            env=cli_env(self.data_dir, self.database_url),
            capture_output=True,
            text=True,
            check=True,
        )
        return created.stdout.strip()

    def custody(
        self, token: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, CUSTODY_REGISTRY=self.base, CUSTODY_TOKEN=token)
        done = subprocess.run(
            [CUSTODY, *args], env=env, capture_output=True, text=True, timeout=300
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def redirecting(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS
) -> Iterator[Redirecting]:
    root = tmp_path_factory.mktemp("redirect")
    url = fresh_database(request, root)
    prefix = f"redirect-{uuid.uuid4().hex[:12]}"
    env = {
        **seaweedfs.registry_env(prefix),
        "CUSTODY_S3_REDIRECT_SECONDS": "300",
    }
    with running_server(root / "data", url, env) as base:
        yield Redirecting(base, root / "data", url, seaweedfs, prefix)


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients read ~/.docker/config.json: never the developer's own."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
