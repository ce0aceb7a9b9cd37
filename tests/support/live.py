"""Run the real ``custody serve`` in a subprocess on a free loopback port.

One launcher and one readiness wait for every test that needs a live registry: a loaded
2-core CI machine can take a minute to import the server, so the deadline is generous.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

CUSTODY = str(Path(sys.executable).with_name("custody"))
START_DEADLINE_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cli_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CUSTODY_DATA_DIR"] = str(data_dir)
    env["CUSTODY_DATABASE_URL"] = database_url
    # Revocation through another process is honoured within this many seconds.
    env["CUSTODY_AUTH_CACHE_SECONDS"] = "1"
    return env


def wait_until_healthy(
    base: str,
    process: subprocess.Popen[bytes] | None = None,
    deadline_s: float = START_DEADLINE_S,
) -> None:
    """Until ``base/healthz`` answers 200 (liveness: ``/readyz`` also weighs free disk).

    With ``process``, its early exit is reported at once instead of after the deadline.
    """
    deadline = time.monotonic() + deadline_s
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base} did not answer /healthz within {deadline_s:.0f} s")
        time.sleep(0.1)


@contextmanager
def serving(env: Mapping[str, str], log_dir: Path) -> Iterator[str]:
    """``custody serve`` with ``env`` until the block ends; yields its base URL.

    The server's output goes to ``log_dir/server-PORT.log`` for post-mortems.
    """
    port = free_port()
    with (log_dir / f"server-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            [CUSTODY, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base, process)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_server(
    data_dir: Path, database_url: str, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    # The operator's step: the data directory exists before the server starts (``make run``
    # creates it with ``custody db upgrade``; the test databases are migrated already).
    # ``custody serve`` refuses to invent one, whatever the database.
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**cli_env(data_dir, database_url), **(extra_env or {})}
    with serving(env, data_dir.parent) as base:
        yield base
