"""``make run`` stops its server when make is stopped: SIGTERM to make, or Ctrl-C (issue 14)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.live import free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _children(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def _gone(pid: int, within: float = 30.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            return True  # exited, waiting to be reaped
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("stop", ["sigterm-to-make", "ctrl-c"])
def test_stopping_make_run_stops_the_server(tmp_path: Path, stop: str) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUSTODY_", "MAKE"))}
    make = subprocess.Popen(
        ["make", "--no-print-directory", "-o", f"{VENV}/.custody-installed", "run",
         f"VENV={VENV}", f"PORT={port}", f"DATA_DIR={tmp_path / 'var'}"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server: list[int] = []
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", make)
        server = _children(make.pid)
        assert len(server) == 1  # the server itself, not a shell holding it
        assert "serve" in Path(f"/proc/{server[0]}/cmdline").read_text()
        if stop == "ctrl-c":
            os.killpg(make.pid, signal.SIGINT)  # what a terminal sends its foreground group
        else:
            make.send_signal(signal.SIGTERM)  # what a process manager sends
        make.wait(timeout=60)
        assert _gone(server[0]), "the server outlived make"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of this test's group
            os.killpg(make.pid, signal.SIGKILL)
        make.wait()


@pytest.mark.parametrize(
    ("arguments", "environment", "expected"),
    [
        ([], {}, "1"),  # a newcomer's plain `make run` seeds the demo
        (["CUSTODY_DEMO=0"], {}, "0"),  # `make run CUSTODY_DEMO=0`
        ([], {"CUSTODY_DEMO": "0"}, "0"),  # or the variable in the environment
        (["CUSTODY_DEMO=0"], {"CUSTODY_DEMO": "1"}, "0"),  # the command line wins
    ],
)
def test_make_run_hands_custody_demo_to_the_server(
    tmp_path: Path, arguments: list[str], environment: dict[str, str], expected: str
) -> None:
    """A dry run (``make -n``: nothing runs) shows the serve line's CUSTODY_DEMO."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUSTODY_", "MAKE"))}
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", f"{VENV}/.custody-installed",
         "-o", "web-assets-optional", "run", f"VENV={VENV}", f"DATA_DIR={tmp_path / 'var'}",
         *arguments],
        cwd=ROOT, env={**env, **environment}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    (serve,) = [line for line in dry.stdout.splitlines() if "/custody serve " in line]
    assert f" CUSTODY_DEMO={expected} exec " in f" {serve}", serve
