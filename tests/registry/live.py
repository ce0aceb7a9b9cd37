"""Run the real ``custody serve`` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CUSTODY = str(Path(sys.executable).with_name("custody"))


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


@contextmanager
def running_server(
    data_dir: Path, database_url: str, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    # The operator's step: the data directory exists before the server starts (``make run``
    # creates it with ``custody db upgrade``; the test databases are migrated already).
    # ``custody serve`` refuses to invent one, whatever the database.
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (data_dir.parent / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [CUSTODY, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**cli_env(data_dir, database_url), **(extra_env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"custody serve exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("custody serve did not start within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
