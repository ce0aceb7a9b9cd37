"""Manifest ``GET`` by tag under concurrent load from a second process on loopback.

Reports requests per second as a ratio to a minimal Litestar JSON endpoint
served the same way (uvicorn, one worker, uvloop + httptools) in the same run
(target >= 0.5), and the p99 latency of both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._server import custody_server, free_port, wait_healthy
from verifier.distribution import RegistryClient

UVICORN = str(Path(sys.executable).with_name("uvicorn"))


def _load(port: int, path: str, headers: list[str], connections: int, seconds: float) -> dict:
    argv = [
        sys.executable,
        "-m",
        "bench._load",
        "--port",
        str(port),
        "--path",
        path,
        "--connections",
        str(connections),
        "--seconds",
        str(seconds),
    ]
    for header in headers:
        argv += ["--header", header]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def _publish(url: str, token: str) -> None:
    with RegistryClient(url, token) as client, tempfile.TemporaryDirectory() as tmp:
        for name, data in (("config", b"{}"), ("layer", b"weights" * 1000)):
            path = Path(tmp) / name
            path.write_bytes(data)
            client.upload_blob(
                "bench/model", path, "sha256:" + hashlib.sha256(data).hexdigest(), len(data)
            )
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.cncf.model.weight.v1.raw",
                    "digest": "sha256:" + hashlib.sha256(b"weights" * 1000).hexdigest(),
                    "size": 7000,
                    "annotations": {"org.opencontainers.image.title": "weights.bin"},
                }
            ],
        }
        client.put_manifest("bench/model", "1.0.0", json.dumps(manifest).encode())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench manifest")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    port = free_port()
    reference = subprocess.Popen(
        [
            UVICORN,
            "bench._reference_app:app",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    try:
        wait_healthy_reference(port)
        with custody_server() as server:
            token = server.token("bench", "pull,push")
            _publish(server.url, token)
            auth = [f"Authorization: Bearer {token}"]
            for run in range(args.runs):
                ref = _load(port, "/hello", [], args.connections, args.seconds)
                got = _load(
                    server.port,
                    "/v2/bench/model/manifests/1.0.0",
                    auth,
                    args.connections,
                    args.seconds,
                )
                row = {
                    "run": run + 1,
                    "reference": ref,
                    "custody": got,
                    "ratio": round(got["rps"] / ref["rps"], 3),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        reference.terminate()
        reference.wait(timeout=30)
    ratios = sorted(r["ratio"] for r in rows)
    print(
        json.dumps(
            {
                "benchmark": "manifest GET by tag vs a minimal Litestar JSON endpoint",
                "target": "ratio >= 0.5",
                "median_ratio": ratios[len(ratios) // 2],
                "runs": rows,
            },
            indent=2,
        )
    )
    return 0


def wait_healthy_reference(port: int) -> None:
    import time

    import httpx

    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/hello", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("reference app did not start")


__all__ = ["main", "wait_healthy"]
