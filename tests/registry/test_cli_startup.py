"""Commands run from the wrong directory, and a server started with a bad policy file.

Both must answer with one line and a non-zero exit: a command that needs an
existing registry names the directory it looked in and how to point it at the
right one (never creating a second registry in ``./var``); a server whose
policy file is broken names the file and line (never a traceback).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from signing.keys import write_key_pair
from tests.support.live import CUSTODY, free_port, running_server


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env.update(extra)
    return env


def run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CUSTODY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


NEEDS_A_REGISTRY = [
    ["log-key"],
    ["token", "create", "--namespace", "acme", "--scopes", "pull"],
    ["token", "revoke", "0123456789abcdef"],
    ["namespace", "create", "acme"],
    ["db", "current"],
    ["tuf", "init"],
    ["tuf", "resign"],
    ["serve", "--port", "1"],
    ["fsck"],
]


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real data directory (SQLite, migrated), made the way the quickstart does."""
    home = tmp_path_factory.mktemp("home")
    made = run(home, "db", "upgrade", env=_clean_env())
    assert made.returncode == 0, made.stderr
    return home / "var"


@pytest.mark.parametrize("args", NEEDS_A_REGISTRY, ids=" ".join)
def test_from_another_directory_nothing_is_invented(tmp_path: Path, args: list[str]) -> None:
    result = run(tmp_path, *args, env=_clean_env())
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: Invalid configuration: no Custody data directory at {tmp_path.resolve()}/var: "
        "pass --data-dir or set CUSTODY_DATA_DIR to the registry's data directory"
    ]
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


NEEDS_THE_DATA_DIR = [
    ["serve", "--port", "1"],
    ["tuf", "init"],
    ["tuf", "rotate-online"],
    ["tuf", "resign"],
    ["log-key"],
    ["fsck"],
]


@pytest.mark.parametrize("args", NEEDS_THE_DATA_DIR, ids=" ".join)
def test_a_database_url_does_not_excuse_a_missing_data_directory(
    tmp_path: Path, database_url: str, args: list[str]
) -> None:
    """With PostgreSQL configured, blobs and keys still live in the data directory."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(elsewhere, *args, env=_clean_env(CUSTODY_DATABASE_URL=database_url))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: Invalid configuration: no Custody data directory at {elsewhere.resolve()}/var: "
        "pass --data-dir or set CUSTODY_DATA_DIR to the registry's data directory"
    ]
    assert list(elsewhere.iterdir()) == []


def test_make_run_on_a_brand_new_deployment_upgrades_then_serves(
    tmp_path: Path, database_url: str
) -> None:
    """``make run``: ``custody db upgrade`` creates the data directory, then ``serve`` starts."""
    data_dir = tmp_path / "new" / "var"
    env = _clean_env(CUSTODY_DATA_DIR=str(data_dir), CUSTODY_DATABASE_URL=database_url)
    upgraded = run(tmp_path, "db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert data_dir.is_dir()
    with running_server(data_dir, database_url) as base:
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    assert (data_dir / "blobs").is_dir()
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("args", NEEDS_A_REGISTRY[1::2], ids=" ".join)
def test_a_data_directory_without_a_database_is_not_given_one(
    tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "var").mkdir()
    result = run(tmp_path, *args, env=_clean_env())
    assert result.returncode == 1
    database = tmp_path.resolve() / "var" / "custody.db"
    assert result.stderr.splitlines() == [
        f"Error: Invalid configuration: no Custody database at {database}: pass --data-dir or "
        "set CUSTODY_DATA_DIR to the registry's data directory "
        "(or run 'custody db upgrade' to create one there)"
    ]
    assert list((tmp_path / "var").iterdir()) == []


def test_pointed_at_the_registry_from_anywhere(tmp_path: Path, registry_dir: Path) -> None:
    by_flag = run(
        tmp_path, "token", "create", "--namespace", "acme", "--scopes", "pull",
        "--data-dir", str(registry_dir), env=_clean_env(),
    )  # fmt: skip
    assert by_flag.returncode == 0, by_flag.stderr
    assert by_flag.stdout.startswith("cst_")
    by_env = _clean_env(CUSTODY_DATA_DIR=str(registry_dir))
    first = run(tmp_path, "log-key", env=by_env)
    assert first.returncode == 0, first.stderr
    again = run(tmp_path, "log-key", "--data-dir", str(registry_dir), env=_clean_env())
    assert again.stdout == first.stdout
    assert (registry_dir / "keys" / "tlog.key").is_file()
    assert run(tmp_path, "db", "current", env=by_env).stdout.strip() != "none"
    assert list(tmp_path.iterdir()) == []


def test_an_explicit_log_key_file_needs_no_data_directory(tmp_path: Path) -> None:
    env = _clean_env(CUSTODY_TLOG_KEY=str(tmp_path / "keys" / "log.key"))
    result = run(tmp_path, "log-key", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("custody.localhost/log+")
    assert not (tmp_path / "var").exists()


BAD_POLICIES = {
    "yaml": ("version: 1\nnamespaces:\n  - match: [acme\n", 4, "not valid YAML"),
    "schema": ("version: 1\nnamespaces:\n  - match: acme\n    surprise: true\n", 4, "unknown"),
    "alias-loop": ("version: 1\nnamespaces: &all\n  - *all\n", 2, "alias"),
}


@pytest.mark.parametrize("kind", list(BAD_POLICIES))
@pytest.mark.parametrize("setting", ["TRUST", "ADMISSION", "REPRINT"])
def test_a_server_with_a_bad_policy_file_says_one_line(
    registry_dir: Path, tmp_path: Path, setting: str, kind: str
) -> None:
    text, line, reason = BAD_POLICIES[kind]
    policy = tmp_path / f"{setting.lower()}.yaml"
    policy.write_text(text)
    env = _clean_env(
        CUSTODY_DATA_DIR=str(registry_dir), **{f"CUSTODY_{setting}_POLICY": str(policy)}
    )
    result = run(tmp_path, "serve", "--port", str(free_port()), env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: Invalid configuration: ")
    assert f"CUSTODY_{setting}_POLICY: {policy}:{line}: " in lines[0]
    assert reason in lines[0]


@pytest.mark.parametrize("mistake", ["missing-key-file", "admission-names-the-trust-file"])
def test_a_bad_policy_is_reported_under_the_setting_that_names_it(
    registry_dir: Path, tmp_path: Path, mistake: str
) -> None:
    """The setting is known where each policy is loaded, not guessed from the failing file."""
    trust = tmp_path / "trust.yaml"
    trust.write_text(
        "version: 1\nnamespaces:\n  - match: acme/*\n    signers:\n"
        "      - {name: alice, public_key: keys/alice.pub}\n"
    )
    admission = tmp_path / "admission.yaml"
    admission.write_text("version: 1\nnamespaces: []\n")
    if mistake == "missing-key-file":
        setting, reason = "CUSTODY_TRUST_POLICY", "alice.pub"
    else:
        (tmp_path / "keys").mkdir()
        write_key_pair(tmp_path / "keys" / "alice", "ed25519", None)
        admission = trust
        setting, reason = "CUSTODY_ADMISSION_POLICY", str(trust)
    env = _clean_env(
        CUSTODY_DATA_DIR=str(registry_dir),
        CUSTODY_TRUST_POLICY=str(trust),
        CUSTODY_ADMISSION_POLICY=str(admission),
    )
    result = run(tmp_path, "serve", "--port", str(free_port()), env=env)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: Invalid configuration: cannot start: {setting}: ")
    assert reason in lines[0]
