"""``custody push`` and ``custody pull`` of a generated 2 GiB model against a local server.

Reports, in the same run: push and pull throughput as a ratio to hashlib sha256
over the same bytes on one core (target >= 0.6 each way), the client's and the
server's peak resident memory (target < 200 MB), and, because every byte is
written durably on one side or the other, the ratio to a plain write+fsync of
the same bytes on the same filesystem (the disk's own ceiling).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench._server import CUSTODY, custody_server, peak_rss_mb

GIB = 1024**3
BLOCK = 64 * 1024 * 1024


def _make_model(root: Path, size: int) -> None:
    root.mkdir(parents=True)
    block = os.urandom(BLOCK)
    with (root / "model.safetensors").open("wb") as out:
        # one U8 tensor spanning the data: an honest header, as the registry checks
        header = f'{{"w":{{"dtype":"U8","shape":[{size}],"data_offsets":[0,{size}]}}}}'.encode()
        out.write(len(header).to_bytes(8, "little") + header)
        written = 0
        while written < size:
            piece = block[: min(BLOCK, size - written)]
            out.write(piece)
            written += len(piece)
            block = block[1:] + block[:1]
    (root / "config.json").write_text('{"architecture": "unet"}')
    (root / "README.md").write_text("# bench model\n")


def _hashlib_seconds(root: Path) -> float:
    start = time.perf_counter()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            hasher = hashlib.sha256()
            with path.open("rb") as handle:
                while block := handle.read(1024 * 1024):
                    hasher.update(block)
    return time.perf_counter() - start


def _durable_copy_seconds(source: Path, directory: Path) -> float:
    start = time.perf_counter()
    for path in sorted(source.rglob("*")):
        if path.is_file():
            target = directory / path.name
            with path.open("rb") as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 4 * 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
            target.unlink()
    return time.perf_counter() - start


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; return (seconds, its peak RSS in MB).

    The peak is the kernel's own high-water mark (VmHWM), read while the command
    runs: rusage from wait4 would count the pages of this process that the
    child shared between fork and exec.
    """
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while process.poll() is None:
        with contextlib.suppress(OSError, RuntimeError):
            peak = max(peak, peak_rss_mb(process.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{argv[1]} failed: {process.stderr.read() if process.stderr else ''}")
    return elapsed, peak


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench push")
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where model and data live")
    args = parser.parse_args(argv)
    size = int(args.size_gib * GIB)
    root = Path(tempfile.mkdtemp(prefix="custody-push-bench-", dir=args.dir))
    rows = []
    try:
        model = root / "model"
        _make_model(model, size)
        total = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
        with custody_server(root) as server:
            token = server.token("bench", "pull,push")
            env = dict(os.environ, CUSTODY_REGISTRY=server.url, CUSTODY_TOKEN=token)
            for run in range(args.runs):
                reference = _hashlib_seconds(model)
                disk = _durable_copy_seconds(model, root)
                push_s, push_rss = _timed(
                    [CUSTODY, "push", str(model), f"bench/model-{run}:1.0.0", "--json"], env
                )
                out = root / f"out-{run}"
                pull_s, pull_rss = _timed(
                    [CUSTODY, "pull", f"bench/model-{run}:1.0.0", str(out), "--json"], env
                )
                shutil.rmtree(out)
                # each run pushes to a new repository, so every blob is uploaded again
                shutil.rmtree(server.workdir / "data" / "blobs" / "sha256", ignore_errors=True)
                (server.workdir / "data" / "blobs" / "sha256").mkdir()
                row = {
                    "run": run + 1,
                    "hashlib_gbps": round(total / reference / 1e9, 3),
                    "durable_copy_gbps": round(total / disk / 1e9, 3),
                    "push_gbps": round(total / push_s / 1e9, 3),
                    "pull_gbps": round(total / pull_s / 1e9, 3),
                    "push_ratio_to_hashlib": round(reference / push_s, 3),
                    "pull_ratio_to_hashlib": round(reference / pull_s, 3),
                    "push_ratio_to_durable_copy": round(disk / push_s, 3),
                    "pull_ratio_to_durable_copy": round(disk / pull_s, 3),
                    "push_client_peak_rss_mb": round(push_rss, 1),
                    "pull_client_peak_rss_mb": round(pull_rss, 1),
                    "server_peak_rss_mb": round(peak_rss_mb(server.pid), 1),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        json.dumps(
            {
                "benchmark": f"custody push/pull of a {args.size_gib:g} GiB model",
                "targets": {"ratio_to_hashlib": ">= 0.6 each way", "peak_rss_mb": "< 200"},
                "runs": rows,
            },
            indent=2,
        )
    )
    return 0
