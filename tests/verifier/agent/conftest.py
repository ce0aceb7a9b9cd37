"""Fixtures: one live registry for all agent tests (SQLite: they exercise the agent, not the
database; each test uses its own repository), and a fresh :class:`World` (TUF repository,
signing key, cache) per test. ``test_cli_live`` runs the registry's own TUF on both engines."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live import CUSTODY, cli_env, running_server
from tests.verifier.agent.world import World


@pytest.fixture(scope="session")
def live_base(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    root = tmp_path_factory.mktemp("agent-live")
    template: Path = request.getfixturevalue("sqlite_template")
    shutil.copyfile(template, root / "custody.db")
    url = f"sqlite:///{root / 'custody.db'}"
    with running_server(root / "data", url) as base:
        token = subprocess.run(
            [CUSTODY, "token", "create", "--namespace", "acme", "--scopes", "pull,push,admin"],
            env=cli_env(root / "data", url),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield base, token, root / "data" / "blobs"


@pytest.fixture
def world(
    live_base: tuple[str, str, Path], tmp_path: Path, request: pytest.FixtureRequest
) -> World:
    base, token, blobs = live_base
    # Each test gets its own repository so versions never collide across tests.
    name = "m" + str(abs(hash(request.node.nodeid)) % 10**10)
    return World(base, token, tmp_path, repository=f"acme/{name}", server_blobs=blobs)
