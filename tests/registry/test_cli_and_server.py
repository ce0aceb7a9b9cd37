"""The ``custody`` command line and the real server process, end to end."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry.db import migrate
from tests.support.live import CUSTODY, cli_env, running_server


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CUSTODY, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return cli_env(tmp_path / "data", database_url)


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    with running_server(tmp_path / "data", database_url) as base:
        yield base


def test_version():
    result = subprocess.run([CUSTODY, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "custody 0.1.0"


def test_db_upgrade_on_a_fresh_sqlite_data_dir(tmp_path):
    data_dir = tmp_path / "fresh"
    env = cli_env(data_dir, "")
    env.pop("CUSTODY_DATABASE_URL")
    result = run_cli("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    assert (data_dir / "custody.db").is_file()
    assert (
        migrate.current_revision(f"sqlite:///{data_dir / 'custody.db'}") == migrate.head_revision()
    )
    again = run_cli("db", "upgrade", env=env)  # idempotent
    assert again.returncode == 0


def test_commands_refuse_an_unmigrated_database(tmp_path):
    env = cli_env(tmp_path / "empty", f"sqlite:///{tmp_path / 'empty.db'}")
    result = run_cli("token", "create", "--namespace", "acme", "--scopes", "pull", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: the database schema is at nothing, expected {migrate.head_revision()}: "
        "run 'custody db upgrade'"
    ]


def test_unreachable_database_is_one_line(tmp_path):
    env = cli_env(tmp_path / "d", "postgresql://nobody@127.0.0.1:1/none")
    result = run_cli("token", "create", "--namespace", "acme", "--scopes", "pull", env=env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot reach the database" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--namespace", "../x", "--scopes", "pull"], "namespace"),
        (["--namespace", "acme", "--scopes", "root"], "unknown scope"),
        (["--namespace", "acme", "--scopes", "pull", "--expires-in", "soon"], "duration"),
    ],
)
def test_token_create_bad_input_is_one_line(env, args, message):
    result = run_cli("token", "create", *args, env=env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_token_lifecycle_against_the_real_server(env, server):
    created = run_cli("token", "create", "--namespace", "acme", "--scopes", "pull,push", env=env)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("cst_")
    assert "shown only once" in created.stderr

    data = b"real server bytes" * 4096
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {secret}"}
    pushed = httpx.post(
        f"{server}/v2/acme/model/blobs/uploads/?digest={digest}", content=data, headers=auth
    )
    assert pushed.status_code == 201, pushed.text
    pulled = httpx.get(f"{server}/v2/acme/model/blobs/{digest}", headers=auth)
    assert pulled.content == data
    assert httpx.get(f"{server}/readyz").json()["status"] == "ready"
    assert "custody_requests_total" in httpx.get(f"{server}/metrics").text

    token_id = secret.split("_")[1]
    revoked = run_cli("token", "revoke", token_id, env=env)
    assert revoked.returncode == 0, revoked.stderr
    time.sleep(1.1)  # the server's credential cache (CUSTODY_AUTH_CACHE_SECONDS=1 here)
    after = httpx.get(f"{server}/v2/acme/model/blobs/{digest}", headers=auth)
    assert after.status_code == 401
    unknown = run_cli("token", "revoke", "ffffffffffffffff", env=env)
    assert unknown.returncode == 1
    assert "no token" in unknown.stderr


def test_client_disconnecting_mid_upload_leaves_nothing(env, server, tmp_path):
    created = run_cli("token", "create", "--namespace", "acme", "--scopes", "push", env=env)
    secret = created.stdout.strip()
    digest = "sha256:" + "ab" * 32
    port = int(server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            (
                f"POST /v2/acme/model/blobs/uploads/?digest={digest} HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAuthorization: Bearer {secret}\r\n"
                f"Content-Length: {64 * 1024 * 1024}\r\n\r\n"
            ).encode()
        )
        sock.sendall(b"x" * (4 * 1024 * 1024))  # far less than announced, then vanish
        time.sleep(0.3)
    blob_dir = tmp_path / "data" / "blobs"
    deadline = time.monotonic() + 10
    while any(p.is_file() for p in blob_dir.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in blob_dir.rglob("*") if p.is_file()] == []
    # the server is still healthy and nothing was recorded
    assert httpx.get(f"{server}/healthz").status_code == 200
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.head(f"{server}/v2/acme/model/blobs/{digest}", headers=auth).status_code in {
        403,
        404,
    }


def test_edge_install_has_no_web_or_database_dependencies(tmp_path):
    """signing and verifier import, and `custody` works, with Litestar and SQLAlchemy absent."""
    script = tmp_path / "edge.py"
    script.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'litestar', 'sqlalchemy', 'alembic', 'uvicorn'}:\n"
        "            raise ImportError(f'blocked {name}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import signing, verifier\n"
        "from custody.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    ok = subprocess.run([sys.executable, str(script), "--version"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    serve = subprocess.run([sys.executable, str(script), "serve"], capture_output=True, text=True)
    assert serve.returncode == 1
    assert serve.stderr.strip().splitlines() == [
        "Error: 'custody serve' needs the 'registry' extra (litestar is not installed): "
        "pip install 'custody[registry]'"
    ]
