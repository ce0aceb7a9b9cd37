"""TUF test helpers: ngclient over the in-process app, the CLI, pushing versions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner, Result
from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface

from custody.cli import cli
from registry.settings import Settings
from tests.support.oci_client import Oci
from tests.support.tuf import tuf_registry  # noqa: F401 - re-exported fixture

BASE = "http://127.0.0.1"


class ClientFetcher(FetcherInterface):
    """ngclient's network layer over any client with ``get(url, headers=...)``."""

    def __init__(self, client: Any, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers or {}
        self.fetched: list[str] = []

    def _fetch(self, url: str) -> Iterator[bytes]:
        path = urlsplit(url).path
        self.fetched.append(path)
        response = self.client.get(path, headers=self.headers)
        if response.status_code != 200:
            raise DownloadHTTPError(response.text, response.status_code)
        return iter([response.content])


def make_updater(
    client: Any, metadata_dir: Path, root: bytes, headers: dict[str, str] | None = None
) -> Updater:
    """A python-tuf Updater trusting ``root`` (written once into ``metadata_dir``)."""
    metadata_dir.mkdir(parents=True, exist_ok=True)
    if not (metadata_dir / "root.json").exists():
        (metadata_dir / "root.json").write_bytes(root)
    return Updater(
        metadata_dir=str(metadata_dir),
        metadata_base_url=f"{BASE}/tuf/",
        fetcher=ClientFetcher(client, headers),
        bootstrap=None,
    )


CliRun = Callable[..., Result]


@pytest.fixture
def tuf_cli(settings: Settings) -> CliRun:
    """Run ``custody ARGS`` in-process against the test's database and data dir."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # the commands never invent it
    env = {
        "CUSTODY_DATA_DIR": str(settings.data_dir),
        "CUSTODY_DATABASE_URL": settings.effective_database_url,
    }

    def run(*args: str, env_extra: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env={**env, **(env_extra or {})})

    return run


@pytest.fixture
def root_json(tuf_cli: CliRun, settings: Settings) -> bytes:
    """``custody tuf init`` on the test database; the exported root.json."""
    path = settings.data_dir.parent / "root.json"
    result = tuf_cli("tuf", "init", "--root-out", str(path))
    assert result.exit_code == 0, result.output
    return path.read_bytes()


def push_version(
    oci: Oci, tag: str, files: dict[str, bytes], name: str | None = None
) -> tuple[bytes, Any]:
    """Push a model version (titled layers); returns the manifest bytes and response."""
    body = oci.manifest(list(files.values()), titles=list(files), name=name)
    response = oci.put_manifest(tag, body, name=name)
    assert response.status_code == 201, response.text
    return body, response


def versions(client: Any) -> dict[str, int]:
    """The newest version of each top-level role and delegation, from the server."""
    timestamp = json.loads(client.get("/tuf/timestamp.json").content)["signed"]
    snapshot_version = timestamp["meta"]["snapshot.json"]["version"]
    snapshot = json.loads(client.get(f"/tuf/{snapshot_version}.snapshot.json").content)["signed"]
    found = {"timestamp": timestamp["version"], "snapshot": snapshot_version}
    found.update({name.removesuffix(".json"): m["version"] for name, m in snapshot["meta"].items()})
    return found
