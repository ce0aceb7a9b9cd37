"""A live registry with its TUF repository initialised, for end-to-end tests.

``tuf_registry`` (module-scoped, once per engine) starts ``custody serve`` on a
free loopback port after ``custody tuf init`` and yields a :class:`TufRegistry`:
``url``, ``root_path`` (the exported root.json, the clients' trust root),
``admin_token`` (a site admin token: push, pull and admin everywhere) and
``data_dir``. Use it from any test package::

    from tests.support.tuf import tuf_registry  # noqa: F401  (a pytest fixture)

or start one with other settings through :func:`running_tuf_registry`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.databases import fresh_database
from tests.support.live import CUSTODY, cli_env, serving


@dataclass
class TufRegistry:
    url: str
    root_path: Path
    admin_token: str
    data_dir: Path
    database_url: str
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def metadata_url(self) -> str:
        """``metadata_base_url`` for python-tuf's ngclient Updater."""
        return f"{self.url}/tuf/"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``custody ARGS`` against this registry's database and key directory."""
        return subprocess.run(
            [CUSTODY, *args], env=self.env, capture_output=True, text=True, check=check
        )

    def token(self, namespace: str = "acme", scopes: str = "pull,push,admin") -> str:
        created = self.cli("token", "create", "--namespace", namespace, "--scopes", scopes)
        return created.stdout.strip()


@contextmanager
def running_tuf_registry(
    root: Path, database_url: str, *, env: Mapping[str, str] | None = None
) -> Iterator[TufRegistry]:
    """``custody tuf init``, then ``custody serve`` until the block ends.

    ``env`` adds settings, e.g. ``{"CUSTODY_TUF_TIMESTAMP_EXPIRY_SECONDS": "60"}``.
    """
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)  # the operator's step: the keys live there
    full_env = {**cli_env(data_dir, database_url), **(env or {})}
    root_path = root / "root.json"
    subprocess.run(
        [CUSTODY, "tuf", "init", "--root-out", str(root_path)],
        env=full_env,
        capture_output=True,
        text=True,
        check=True,
    )
    admin = subprocess.run(
        [CUSTODY, "token", "create", "--namespace", "*", "--scopes", "admin"],
        env=full_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with serving(full_env, root) as url:
        yield TufRegistry(url, root_path, admin, data_dir, database_url, full_env)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def tuf_registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TufRegistry]:
    """A live registry with TUF initialised, once per test module and engine.

    On PostgreSQL the database is shared by the whole session: do not mix this
    fixture with function-scoped ``database_url`` tests in the same module.
    """
    root = tmp_path_factory.mktemp("tuf-live")
    with running_tuf_registry(root, fresh_database(request, root)) as registry:
        yield registry
