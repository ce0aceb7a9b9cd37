"""Stream 1 GiB and 4 GiB bodies into the blob store through the HTTP service.

Reports, in the same run:
  (a) upload throughput as a ratio to hashlib sha256 over the same bytes on one
      core (target >= 0.7);
  (b) the server's peak resident memory (target < 200 MB whatever the size);
  (c) upload throughput as a ratio to the filesystem's own durable write speed
      (plain write + fsync of the same bytes, same directory, same run): the
      ceiling no durable blob store can pass on this disk.

It runs twice: on a data directory on the real disk (what ``make run`` uses)
and, where /dev/shm exists, on tmpfs, where fsync is free and the figure shows
the service's own CPU cost.

The server is the real ``custody serve`` (uvicorn, one worker, SQLite, a local
blob directory); the client is a bare socket so that it costs as little CPU
as possible on the two shared cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

from bench._server import Server, custody_server, peak_rss_mb

CUSTODY = str(Path(sys.executable).with_name("custody"))
PATTERN_BYTES = 64 * 1024 * 1024
SEND_BYTES = 4 * 1024 * 1024
GIB = 1024**3


def _hash_reference(pattern: bytes, total: int) -> tuple[str, float]:
    """sha256 of ``total`` bytes (the pattern repeated) on one core, and its time."""
    hasher = hashlib.sha256()
    view = memoryview(pattern)
    start = time.perf_counter()
    for _ in range(total // len(pattern)):
        hasher.update(view)
    return "sha256:" + hasher.hexdigest(), time.perf_counter() - start


def _upload(port: int, token: str, digest: str, pattern: bytes, total: int) -> float:
    view = memoryview(pattern)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        start = time.perf_counter()
        sock.sendall(
            (
                f"POST /v2/bench/model/blobs/uploads/?digest={digest} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/octet-stream\r\n"
                f"Content-Length: {total}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        for _ in range(total // len(pattern)):
            for offset in range(0, len(pattern), SEND_BYTES):
                sock.sendall(view[offset : offset + SEND_BYTES])
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
        elapsed = time.perf_counter() - start
    status_line = response.split(b"\r\n", 1)[0]
    if b" 201 " not in status_line:
        raise RuntimeError(f"upload failed: {response[:500]!r}")
    return elapsed


def _durable_write_reference(directory: Path, pattern: bytes, total: int) -> float:
    """Seconds to write ``total`` bytes and fsync them, as a plain program would."""
    path = directory / "disk-reference"
    view = memoryview(pattern)
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(total // len(pattern)):
            for offset in range(0, len(pattern), SEND_BYTES):
                os.write(fd, view[offset : offset + SEND_BYTES])
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - start
    path.unlink()
    return elapsed


def _scenario(name: str, root: Path, sizes: list[int], runs: int, quiet: bool) -> dict[str, object]:
    with custody_server(root) as server:
        return _measure(name, server, sizes, runs, quiet)


def _measure(
    name: str, server: Server, sizes: list[int], runs: int, quiet: bool
) -> dict[str, object]:
    token = server.token("bench", "push")
    port, workdir = server.port, server.workdir
    results: list[dict[str, float]] = []
    baseline_rss = peak_rss_mb(server.pid)
    pattern = os.urandom(PATTERN_BYTES)
    for size in sizes:
        for run in range(runs):
            # A different body each run: re-uploading a stored digest is cheaper.
            pattern = pattern[1:] + pattern[:1]
            digest, reference = _hash_reference(pattern, size)
            disk = _durable_write_reference(workdir, pattern, size)
            elapsed = _upload(port, token, digest, pattern, size)
            shutil.rmtree(workdir / "data" / "blobs" / "sha256", ignore_errors=True)
            (workdir / "data" / "blobs" / "sha256").mkdir()
            row = {
                "size_gib": size / GIB,
                "run": run + 1,
                "hashlib_gbps": size / reference / 1e9,
                "durable_write_gbps": size / disk / 1e9,
                "upload_gbps": size / elapsed / 1e9,
                "ratio_to_hashlib": reference / elapsed,
                "ratio_to_durable_write": disk / elapsed,
                "server_peak_rss_mb": peak_rss_mb(server.pid),
            }
            results.append(row)
            if not quiet:
                print(
                    f"[{name}] {row['size_gib']:.0f} GiB run {run + 1}: "
                    f"hashlib {row['hashlib_gbps']:.2f} GB/s, "
                    f"write+fsync {row['durable_write_gbps']:.2f} GB/s, "
                    f"upload {row['upload_gbps']:.2f} GB/s -> "
                    f"{row['ratio_to_hashlib']:.2f}x hashlib, "
                    f"{row['ratio_to_durable_write']:.2f}x write+fsync; "
                    f"server peak RSS {row['server_peak_rss_mb']:.0f} MB",
                    flush=True,
                )
    by_size: dict[str, dict[str, float]] = {}
    for size in sizes:
        rows = [r for r in results if r["size_gib"] == size / GIB]
        by_size[f"{size / GIB:g}GiB"] = {
            "median_ratio_to_hashlib": _median([r["ratio_to_hashlib"] for r in rows]),
            "median_ratio_to_durable_write": _median([r["ratio_to_durable_write"] for r in rows]),
            "median_upload_gbps": _median([r["upload_gbps"] for r in rows]),
        }
    return {
        "data_dir_on": str(workdir.parent),
        "server_baseline_rss_mb": round(baseline_rss, 1),
        "server_peak_rss_mb": round(max(r["server_peak_rss_mb"] for r in results), 1),
        "by_size": by_size,
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[len(ordered) // 2], 3)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench upload")
    parser.add_argument("--sizes", default="1,4", help="GiB sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--disk-dir", default=tempfile.gettempdir(), help="real-disk root")
    parser.add_argument("--no-tmpfs", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(float(s) * GIB) for s in args.sizes.split(",")]
    scenarios = {"disk": Path(args.disk_dir)}
    if not args.no_tmpfs and Path("/dev/shm").is_dir():
        scenarios["tmpfs"] = Path("/dev/shm")
    report = {
        "benchmark": "blob upload through custody serve (HTTP) into the filesystem blob store",
        "targets": {"ratio_to_hashlib": ">= 0.7", "server_peak_rss_mb": "< 200"},
        "scenarios": {
            name: _scenario(name, root, sizes, args.runs, args.quiet)
            for name, root in scenarios.items()
        },
    }
    print(json.dumps(report, indent=2))
    return 0
