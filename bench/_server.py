"""Shared by the benchmarks: start a real ``custody serve`` on a scratch data directory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CUSTODY = str(Path(sys.executable).with_name("custody"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found")


def wait_healthy(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


@dataclass
class Server:
    url: str
    port: int
    pid: int
    workdir: Path
    env: dict[str, str]

    def token(self, namespace: str, scopes: str) -> str:
        return subprocess.run(
            [CUSTODY, "token", "create", "--namespace", namespace, "--scopes", scopes],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()


@contextmanager
def custody_server(
    root: Path | None = None,
    extra_env: dict[str, str] | None = None,
    *,
    share_with: Server | None = None,
) -> Iterator[Server]:
    """A live ``custody serve``; ``share_with`` another one's data directory (a second replica)."""
    workdir = Path(tempfile.mkdtemp(prefix="custody-bench-", dir=root))
    data_dir = share_with.workdir / "data" if share_with else workdir / "data"
    env = {**os.environ, "CUSTODY_DATA_DIR": str(data_dir), **(extra_env or {})}
    env.pop("CUSTODY_DATABASE_URL", None)
    subprocess.run([CUSTODY, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [CUSTODY, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
        yield Server(url, port, process.pid, workdir, env)
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
