"""Errors a user can act on: the registry's own message, then the likely cause (issue 14)."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result

from tests.custody.conftest import LiveRegistry, Run, small_model


def _one_error(result: Result) -> str:
    stderr = result.stderr
    assert result.exit_code != 0
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_push_outside_the_token_namespace_names_scopes(
    live_registry: LiveRegistry, run: Run, tmp_path: Path
) -> None:
    token = live_registry.token("acme", "pull,push")
    live_registry.token("other", "pull")  # the namespace exists
    line = _one_error(run(token, "push", str(small_model(tmp_path / "m")), "other/tiny:1.0.0"))
    assert "does not grant" in line and "'other/tiny'" in line
    assert "HTTP 403" in line and "Forbidden" not in line
    assert "the token does not grant pull on namespace 'other'" in line
    assert "(token scopes: pull,push on namespace 'acme')" in line


def test_push_with_a_pull_token_says_push_is_missing(
    live_registry: LiveRegistry, run: Run, tmp_path: Path
) -> None:
    token = live_registry.token("acme", "pull")
    line = _one_error(run(token, "push", str(small_model(tmp_path / "m")), "acme/tiny:1.0.0"))
    assert "the token does not grant push on namespace 'acme'" in line
    assert "(token scopes: pull on namespace 'acme')" in line


def test_alias_move_with_a_push_token_says_promote_is_missing(
    live_registry: LiveRegistry, run: Run, tmp_path: Path
) -> None:
    token = live_registry.token("acme", "pull,push")
    assert run(token, "push", str(small_model(tmp_path / "m")), "acme/tiny:1.0.0").exit_code == 0
    line = _one_error(run(token, "alias", "set", "acme/tiny", "production", "1.0.0"))
    assert "the token does not grant promote on namespace 'acme'" in line
    assert "(token scopes: pull,push on namespace 'acme')" in line


def test_bad_repository_names_say_how_names_are_spelt(
    live_registry: LiveRegistry, run: Run, tmp_path: Path
) -> None:
    token = live_registry.token()
    model = str(small_model(tmp_path / "m"))
    for name in ("Acme/tiny:1.0.0", "tiny:1.0.0"):
        line = _one_error(run(token, "push", model, name))
        assert "Bad Request" not in line
        assert "must be <namespace>/<model> in lower case" in line  # the registry's message
        assert "repository names are lower-case 'namespace/model'" in line


def test_garbage_token_is_named_as_the_cause(
    live_registry: LiveRegistry, run: Run, tmp_path: Path
) -> None:
    model = str(small_model(tmp_path / "m"))
    for garbage in ("cst_0123456789abcdef_notatoken", "garbage"):
        line = _one_error(run(garbage, "push", model, "acme/tiny:1.0.0"))
        assert "Not Found" not in line
        assert "the token is not valid for this registry" in line
        line = _one_error(run(garbage, "ls"))  # the lifecycle API, not /v2/
        assert "Not Found" not in line and "HTTP 401" in line
        assert "the token is not valid for this registry" in line


def test_unknown_model_and_version(live_registry: LiveRegistry, run: Run, tmp_path: Path) -> None:
    token = live_registry.token()
    assert run(token, "push", str(small_model(tmp_path / "m")), "acme/known:1.0.0").exit_code == 0
    line = _one_error(run(token, "pull", "acme/unknown:1.0.0", str(tmp_path / "out")))
    assert "repository acme/unknown is not known" in line and "'custody ls'" in line
    line = _one_error(run(token, "pull", "acme/unknown", str(tmp_path / "out")))  # no tag
    assert "repository acme/unknown is not known" in line
    line = _one_error(run(token, "pull", "acme/known:9.9.9", str(tmp_path / "out")))
    assert "no such version or alias" in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
