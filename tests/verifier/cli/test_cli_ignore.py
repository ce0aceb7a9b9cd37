"""``custody verify --ignore`` as users type it: from the shell's directory or the model's."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from custody.cli import cli
from signing.keys import generate_private_key, public_key_pem
from signing.sign import sign_model
from signing.signers import KeySigner
from tests.support.signing_factories import make_model

runner = CliRunner()
FILES = {"config.json": b"{}", "weights/w.bin": b"\x01" * 999}


def invoke(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, list(map(str, args)), catch_exceptions=False)


@pytest.fixture
def added_after_signing(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A signed model to which ``ignore-me`` and ``logs/`` were added after signing."""
    model = make_model(tmp_path / "model", FILES)
    signer = KeySigner(generate_private_key("ecdsa-p256"))
    signature = tmp_path / "model.sig"
    sign_model(model, signer, output=signature)
    make_model(model, {"ignore-me": b"x", "logs/run.log": b"l"})
    public = tmp_path / "key.pub"
    public.write_bytes(public_key_pem(signer.public_key))
    return model, signature, public


@pytest.mark.parametrize(
    "typed",
    [
        ("model/ignore-me", "model/logs"),  # as the shell reads it (model_signing's way)
        ("ignore-me", "logs"),  # from the model directory
        ("model/ignore-me", "logs/"),
    ],
)
def test_verify_ignore_as_the_shell_or_the_model_reads_it(
    added_after_signing: tuple[Path, Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    typed: tuple[str, str],
) -> None:
    model, signature, public = added_after_signing
    monkeypatch.chdir(model.parent)
    base = ["verify", "model", "--signature", signature, "--public-key", public]
    unignored = invoke(*base)
    assert unignored.exit_code == 7
    assert "extra: ignore-me" in unignored.output
    ignores = [arg for name in typed for arg in ("--ignore", name)]
    result = invoke(*base, *ignores)
    assert result.exit_code == 0, result.output
    assert "model: verified: 2 files" in result.output


def test_verify_ignore_through_a_symlinked_model_directory(
    added_after_signing: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, signature, public = added_after_signing
    link = tmp_path / "linked"
    link.symlink_to(tmp_path, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for ignore_me, logs in [
        ("linked/model/ignore-me", "linked/model/logs"),
        ("model/ignore-me", "linked/model/logs"),
        ("ignore-me", "logs"),
        (str(link / "model" / "ignore-me"), str(model / "logs")),
    ]:
        result = invoke(
            "verify", "linked/model", "--signature", signature, "--public-key", public,
            "--ignore", ignore_me, "--ignore", logs,
        )  # fmt: skip
        assert result.exit_code == 0, (ignore_me, logs, result.output)


@pytest.mark.parametrize("typed", ["model/ignore-mee", "nothing", "../model.sig", "model"])
def test_verify_refuses_an_ignore_that_names_nothing_in_the_model(
    added_after_signing: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    model, signature, public = added_after_signing
    monkeypatch.chdir(model.parent)
    result = invoke(
        "verify", "model", "--signature", signature, "--public-key", public, "--ignore", typed
    )
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"FAILED [ignore]: the ignore path {typed!r} names nothing")
    assert str(model.resolve()) in lines[0]


def test_a_missing_model_is_reported_as_missing_not_as_a_bad_ignore(
    added_after_signing: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, signature, public = added_after_signing
    missing = tmp_path / "gone"
    result = invoke(
        "verify", missing, "--signature", signature, "--public-key", public, "--ignore", "x"
    )
    assert result.exit_code == 3
    assert result.output.splitlines() == [f"FAILED [input]: model path '{missing}' does not exist"]
    single = invoke(
        "verify", tmp_path / "model" / "config.json", "--signature", signature,
        "--public-key", public, "--ignore", "x",
    )  # fmt: skip
    assert single.exit_code == 2
    assert "is not a directory" in single.output
