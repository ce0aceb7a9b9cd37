"""``custody namespace quota`` and the storage shown by ``namespace list|show`` (both engines)."""

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


def test_set_show_and_clear_a_quota(admin) -> None:  # type: ignore[no-untyped-def]
    assert admin("namespace", "create", "acme").exit_code == 0
    shown = admin("namespace", "quota", "acme")
    assert shown.exit_code == 0
    assert shown.stdout.strip() == "namespace acme: no quota (unlimited); storage 0 B (no quota)"

    set_ = admin("namespace", "quota", "acme", "10GiB")
    assert set_.exit_code == 0, set_.output
    assert set_.stdout.strip() == (
        "namespace acme: quota 10.0 GiB (10737418240 bytes); storage 0 B of 10.0 GiB (0%)"
    )
    assert json.loads(admin("namespace", "quota", "acme", "--json").stdout) == {
        "name": "acme",
        "quota_bytes": 10 * 1024**3,
        "used_bytes": 0,
    }
    assert admin("namespace", "quota", "acme", "500 MB").exit_code == 0
    (row,) = json.loads(admin("namespace", "list", "--json").stdout)
    assert (row["quota_bytes"], row["used_bytes"]) == (500_000_000, 0)
    assert admin("namespace", "list").stdout.strip().endswith("storage 0 B of 476.8 MiB (0%)")
    detail = json.loads(admin("namespace", "show", "acme", "--json").stdout)
    assert (detail["quota_bytes"], detail["used_bytes"]) == (500_000_000, 0)
    assert "storage: 0 B of 476.8 MiB (0%)" in admin("namespace", "show", "acme").stdout

    cleared = admin("namespace", "quota", "acme", "--clear")
    assert cleared.exit_code == 0
    assert "no quota (unlimited)" in cleared.stdout
    assert json.loads(admin("namespace", "show", "acme", "--json").stdout)["quota_bytes"] is None


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("acme", "10G"), "is not a size"),
        (("acme", "--", "-5"), "is not a size"),
        (("acme", "99999PiB"), "more than"),
        (("acme", "1GiB", "--clear"), "not both"),
        (("nowhere", "1GiB"), "does not exist"),
        (("Bad", "1GiB"), "lower-case"),
    ],
)
def test_bad_quota_input_is_one_line(admin, args: tuple[str, ...], words: str) -> None:  # type: ignore[no-untyped-def]
    assert admin("namespace", "create", "acme").exit_code == 0
    result = admin("namespace", "quota", *args)
    assert result.exit_code == 1
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(admin("namespace", "show", "acme", "--json").stdout)["quota_bytes"] is None
