"""``custody token list`` and ``custody namespace list|show`` on both engines (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from custody.cli import cli


@pytest.fixture
def admin(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    env = {"CUSTODY_DATA_DIR": str(tmp_path / "data"), "CUSTODY_DATABASE_URL": database_url}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def test_token_list_shows_scopes_and_status_never_secrets(admin) -> None:  # type: ignore[no-untyped-def]
    created = json.loads(
        admin("token", "create", "--namespace", "acme", "--scopes", "pull", "--json").stdout
    )
    revoked = json.loads(
        admin("token", "create", "--namespace", "acme", "--scopes", "push", "--json").stdout
    )
    site = json.loads(
        admin("token", "create", "--namespace", "*", "--scopes", "admin", "--json").stdout
    )
    assert admin("token", "revoke", revoked["id"]).exit_code == 0

    listed = admin("token", "list")
    assert listed.exit_code == 0
    assert created["id"] in listed.stdout and site["id"] in listed.stdout
    assert revoked["id"] not in listed.stdout  # revoked ones only with --all
    assert created["token"] not in listed.stdout

    rows = json.loads(admin("token", "list", "--namespace", "acme", "--all", "--json").stdout)
    by_id = {r["id"]: r for r in rows}
    assert set(by_id) == {created["id"], revoked["id"]}
    assert by_id[created["id"]]["scopes"] == ["pull"]
    assert by_id[created["id"]]["status"] == "active"
    assert by_id[revoked["id"]]["status"] == "revoked"
    assert all("token" not in r for r in rows)


def test_namespace_list_and_show(admin) -> None:  # type: ignore[no-untyped-def]
    assert admin("namespace", "create", "acme", "--anonymous-pull").exit_code == 0
    assert admin("namespace", "create", "beta").exit_code == 0
    token = json.loads(
        admin("token", "create", "--namespace", "beta", "--scopes", "pull", "--json").stdout
    )

    text = admin("namespace", "list").stdout.splitlines()
    assert text == [
        "acme  anonymous pull on  0 models  0 active tokens  storage 0 B (no quota)",
        "beta  anonymous pull off  0 models  1 active token  storage 0 B (no quota)",
    ]
    rows = json.loads(admin("namespace", "list", "--json").stdout)
    assert [(r["name"], r["anonymous_pull"], r["active_tokens"]) for r in rows] == [
        ("acme", True, 0),
        ("beta", False, 1),
    ]

    shown = json.loads(admin("namespace", "show", "beta", "--json").stdout)
    assert shown["name"] == "beta" and shown["models"] == []
    assert [t["id"] for t in shown["tokens"]] == [token["id"]]
    assert "anonymous pull off" in admin("namespace", "show", "beta").stdout


def test_namespace_show_unknown_or_malformed_is_one_line(admin) -> None:  # type: ignore[no-untyped-def]
    for name, words in (("nope", "does not exist"), ("Bad", "lower-case")):
        result = admin("namespace", "show", name)
        assert result.exit_code == 1
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
