"""``--ignore`` paths as users type them: from the shell's directory or from the model's."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing.errors import IgnorePathError
from signing.sign import resolve_ignore_path
from tests.support.signing_factories import make_model

FILES = {"a.txt": b"a", "sub/b.txt": b"b", "ignore-me": b"x", "logs/run.log": b"l"}


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model", FILES)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("model/ignore-me", "ignore-me"),  # as the shell (and model_signing) reads it
        ("ignore-me", "ignore-me"),  # from the model directory, as custody always did
        ("model/logs", "logs"),
        ("logs/", "logs"),
        ("./model/sub/../ignore-me", "ignore-me"),
        ("sub/b.txt", "sub/b.txt"),
    ],
)
def test_both_readings_of_a_relative_path(
    model: Path, monkeypatch: pytest.MonkeyPatch, typed: str, name: str
) -> None:
    monkeypatch.chdir(model.parent)
    assert resolve_ignore_path(model, typed) == name
    assert resolve_ignore_path(Path("model"), typed) == name


def test_an_absolute_path_inside_the_model(model: Path) -> None:
    assert resolve_ignore_path(model, model / "sub" / "b.txt") == "sub/b.txt"


def test_through_a_symlinked_directory(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model reached through a linked directory (as /tmp is on some systems) is the same."""
    link = tmp_path / "elsewhere"
    link.symlink_to(tmp_path, target_is_directory=True)
    via_link = link / "model"
    monkeypatch.chdir(tmp_path)
    for typed in ("elsewhere/model/ignore-me", "model/ignore-me", "ignore-me"):
        assert resolve_ignore_path(via_link, typed) == "ignore-me"
    assert resolve_ignore_path(via_link, via_link / "logs") == "logs"
    assert resolve_ignore_path(model, via_link / "logs") == "logs"
    monkeypatch.chdir(link)
    assert resolve_ignore_path(Path("model"), "model/sub") == "sub"


def test_a_link_inside_the_model_is_named_not_followed(model: Path) -> None:
    (model / "leak").symlink_to("/etc/hostname")
    assert resolve_ignore_path(model, "leak") == "leak"


@pytest.mark.parametrize(
    "typed", ["nothing-here", "model/nothing", "../outside.txt", "model", ".", "/etc/hostname"]
)
def test_an_ignore_that_names_nothing_inside_the_model_is_refused(
    model: Path, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    (model.parent / "outside.txt").write_text("o")
    monkeypatch.chdir(model.parent)
    with pytest.raises(IgnorePathError, match="names nothing inside the model") as caught:
        resolve_ignore_path(model, typed)
    assert str(model.resolve()) in caught.value.diagnostics()


def test_a_path_outside_the_model_that_exists_is_refused(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ignore-me`` in the shell's directory, outside the model, does not count."""
    other = tmp_path / "cwd"
    make_model(other, {"only-here": b"x"})
    monkeypatch.chdir(other)
    with pytest.raises(IgnorePathError):
        resolve_ignore_path(model, "only-here")
    assert resolve_ignore_path(model, "ignore-me") == "ignore-me"


def test_two_readings_naming_two_things_are_refused(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_model(model / "model", {"ignore-me": b"y"})
    monkeypatch.chdir(model.parent)
    with pytest.raises(IgnorePathError, match="ambiguous"):
        resolve_ignore_path(model, "model/ignore-me")
    assert resolve_ignore_path(model, model / "model" / "ignore-me") == "model/ignore-me"
    assert resolve_ignore_path(model, model / "ignore-me") == "ignore-me"


def test_a_single_file_model_has_nothing_to_leave_out(model: Path) -> None:
    with pytest.raises(IgnorePathError, match="not a directory"):
        resolve_ignore_path(model / "a.txt", "a.txt")
