"""docs/quickstart.md is run, command by command, exactly as written.

The document is executed in a fresh copy of the repository (its tracked files; the existing
``.venv`` linked in so nothing is reinstalled) with an empty home directory and none of the
caller's ``CUSTODY_*`` variables: what a new user has after cloning. Only the registry's port
differs from the document (a free port instead of 8080), so that the test can run beside
anything else. A command that fails, or prints something the document does not show, fails
the test with the document's line number.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from custody.cli import cli
from tests.docs.shell import Shell
from tests.docs.transcript import Command, mismatch, parse
from tests.support.live import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "docs" / "quickstart.md"
README = ROOT / "README.md"
DOCUMENTED_PORT = "8080"

pytestmark = pytest.mark.slow


def _fresh_clone(target: Path) -> Path:
    """The repository's tracked files, as a clone would have them, and the built venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():
            continue  # deleted in the work tree but not yet from the index
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    (target / ".venv").symlink_to(ROOT / ".venv")
    # The venv is the real one, built by `make test` before this runs. Were the copied
    # requirements newer than its stamp (an edited pyproject.toml in a work tree), the
    # document's `make run` would reinstall the project into it from this temporary
    # copy; dated a second before the stamp, they leave it alone (a float mtime copied to
    # the file can round past the stamp's nanoseconds: make then reinstalled the shared
    # venv from this temporary directory).
    stamp = (ROOT / ".venv" / ".custody-installed").stat().st_mtime_ns - 1_000_000_000
    for requirement in ("pyproject.toml", "requirements.lock"):
        os.utime(target / requirement, ns=(stamp, stamp))
    return target


@pytest.fixture
def user_shell(tmp_path: Path) -> Iterator[tuple[Shell, str]]:
    clone = _fresh_clone(tmp_path / "custody")
    home = tmp_path / "home"
    home.mkdir()
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTODY_")}
    env.update(HOME=str(home), CUSTODY_PORT=port, TERM="dumb", COLUMNS="100")
    env.pop("VIRTUAL_ENV", None)
    shell = Shell(clone, env)
    installed = _installed_from()
    try:
        yield shell, port
    finally:
        shell.close()
    assert _installed_from() == installed, "the document's commands reinstalled the shared venv"


def _installed_from() -> str:
    """Where the shared venv's editable install points (it must stay this checkout)."""
    found = sorted((ROOT / ".venv" / "lib").glob("python*/site-packages/_editable_impl_*.pth"))
    return "".join(path.read_text() for path in found)


def _run_document(shell: Shell, port: str, commands: list[Command], name: str) -> None:
    assert commands, f"{name} has no console blocks"
    for command in commands:
        text = command.text.replace(f"127.0.0.1:{DOCUMENTED_PORT}", f"127.0.0.1:{port}")
        where = f"{name}:{command.line}: $ {command.text}"
        if command.background:
            shell.start(text)
            wait_until_healthy(f"http://127.0.0.1:{port}")
            continue
        result = shell.run(text)
        assert result.status == command.status, (
            f"{where}\nexit status {result.status}, the document says {command.status}:\n"
            f"{result.output}"
        )
        problem = mismatch(command.output, result.output)
        assert problem is None, f"{where}\n{problem}"


def test_quickstart_runs_as_written(user_shell: tuple[Shell, str]) -> None:
    shell, port = user_shell
    _run_document(shell, port, parse(QUICKSTART.read_text()), "docs/quickstart.md")


def _command_words(text: str) -> set[str]:
    """The ``custody`` sub-commands used in shell text: ``push``, ``token create``, ..."""
    found: set[str] = set()
    for match in re.finditer(r"custody((?:\s+[a-z][a-z0-9-]*\b(?![/:.]))+)", text):
        words = match.group(1).split()
        command = cli.get_command(click.Context(cli), words[0])
        if command is None:
            continue
        if isinstance(command, click.Group) and len(words) > 1:
            found.add(f"{words[0]} {words[1]}")
        else:
            found.add(words[0])
    return found


def test_every_readme_command_is_in_the_quickstart() -> None:
    """The README's command examples are all exercised by the quickstart test."""
    readme_blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
    readme = set().union(*(_command_words(block) for block in readme_blocks))
    quickstart = _command_words(
        "\n".join(command.text for command in parse(QUICKSTART.read_text()))
    )
    missing = sorted(readme - quickstart)
    assert not missing, f"README commands the quickstart never runs: {missing}"
