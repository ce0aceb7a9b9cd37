"""The same ``--ignore`` command line means the same thing to ``custody`` and ``model_signing``.

``model_signing --ignore-paths`` reads a relative path as the shell does (from the
current directory); ``custody --ignore`` accepts that form as well as a path from
the model directory, and refuses one that names nothing inside the model.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from signing.keys import generate_private_key, public_key_pem
from tests.support.signing_factories import make_model, write_private_key

BIN = Path(sys.executable).parent
FILES = {"config.json": b"{}", "weights/w.bin": b"\x02" * 4096}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    make_model(tmp_path / "model", FILES)
    key = generate_private_key("ecdsa-p256")
    write_private_key(tmp_path / "key.pem", key)
    (tmp_path / "key.pub").write_bytes(public_key_pem(key.public_key()))
    return tmp_path


def _ms_verify(cwd: Path, *ignore: str) -> subprocess.CompletedProcess[str]:
    extra = [arg for path in ignore for arg in ("--ignore-paths", path)]
    return run(
        cwd, "model_signing", "verify", "key", "model",
        "--signature", "model.sig", "--public_key", "key.pub", *extra,
    )  # fmt: skip


def _custody_verify(cwd: Path, *ignore: str) -> subprocess.CompletedProcess[str]:
    extra = [arg for path in ignore for arg in ("--ignore", path)]
    return run(
        cwd, "custody", "verify", "model", "--signature", "model.sig", "--public-key", "key.pub",
        *extra,
    )  # fmt: skip


def test_a_file_added_after_signing_is_ignored_by_the_same_command_line(
    workspace: Path,
) -> None:
    signed = run(
        workspace, "model_signing", "sign", "key", "model",
        "--signature", "model.sig", "--private_key", "key.pem",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    (workspace / "model" / "ignore-me").write_text("added later")
    assert _ms_verify(workspace).returncode != 0
    refused = _custody_verify(workspace)
    assert refused.returncode == 7
    assert "extra: ignore-me" in refused.stderr
    ms = _ms_verify(workspace, "model/ignore-me")
    assert ms.returncode == 0, ms.stdout + ms.stderr
    ours = _custody_verify(workspace, "model/ignore-me")
    assert ours.returncode == 0, ours.stderr
    assert _custody_verify(workspace, "ignore-me").returncode == 0  # the model-relative form


def test_model_signing_ignore_paths_then_custody_verify(workspace: Path) -> None:
    (workspace / "model" / "ignore-me").write_text("not shipped")
    signed = run(
        workspace, "model_signing", "sign", "key", "model", "--signature", "model.sig",
        "--private_key", "key.pem", "--ignore-paths", "model/ignore-me",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    ours = _custody_verify(workspace, "model/ignore-me")
    assert ours.returncode == 0, ours.stderr
    assert "2 files" in ours.stdout


def test_custody_sign_ignore_then_model_signing_verify(workspace: Path) -> None:
    (workspace / "model" / "ignore-me").write_text("not shipped")
    signed = run(
        workspace, "custody", "sign", "model", "--key", "key.pem", "--output", "model.sig",
        "--ignore", "model/ignore-me",
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    ms = _ms_verify(workspace, "model/ignore-me")
    assert ms.returncode == 0, ms.stdout + ms.stderr
    assert _custody_verify(workspace).returncode == 0  # the signature records what it left out


def test_an_ignore_naming_nothing_is_refused_where_model_signing_would_ignore_nothing(
    workspace: Path,
) -> None:
    signed = run(
        workspace, "custody", "sign", "model", "--key", "key.pem", "--output", "model.sig",
        "--ignore", "model/ignore-me",
    )  # fmt: skip
    assert signed.returncode == 2
    assert signed.stderr.splitlines() == [
        f"FAILED [ignore]: the ignore path 'model/ignore-me' names nothing inside the model "
        f"{workspace.resolve() / 'model'} (looked for {workspace.resolve() / 'model/ignore-me'} "
        f"or {workspace.resolve() / 'model/model/ignore-me'})"
    ]
    assert not (workspace / "model.sig").exists()
