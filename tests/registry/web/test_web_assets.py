"""``scripts/web_assets.py`` (``make web-assets``): what it does without npm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "web_assets.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/nonexistent"}  # no npm on it
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, check=False
    )


def test_without_npm_make_run_goes_on_and_says_so() -> None:
    done = _run("--optional")
    assert done.returncode == 0
    assert "no npm: the verify page will say C2PA reading is unavailable" in done.stderr


def test_without_npm_the_tests_setup_fails() -> None:
    done = _run()
    assert done.returncode == 1
    assert "install Node.js and npm" in done.stderr
