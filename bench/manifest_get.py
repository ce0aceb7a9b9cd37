"""The pull hot path under concurrent load from a second process on loopback.

Three requests, each measured in every run: manifest ``GET`` by tag with a
token, the same without any ``Authorization`` header (anonymous pull turned on
for the namespace), and ``HEAD`` of a blob with a token. Reports requests per
second of the authenticated manifest ``GET`` as a ratio to a minimal Litestar
JSON endpoint served the same way (uvicorn, one worker, uvloop + httptools) in
the same run (target >= 0.5), and the two others as ratios to that
authenticated manifest ``GET`` (target: near 1, since all three are served
from in-process caches without a database query), with p99 latencies.
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
from verifier.clients.push import PushClient

UVICORN = str(Path(sys.executable).with_name("uvicorn"))


def _load(
    port: int,
    path: str,
    headers: list[str],
    connections: int,
    seconds: float,
    method: str = "GET",
) -> dict:
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
        "--method",
        method,
    ]
    for header in headers:
        argv += ["--header", header]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


LAYER = b"weights" * 1000
LAYER_DIGEST = "sha256:" + hashlib.sha256(LAYER).hexdigest()
MANIFEST_PATH = "/v2/bench/model/manifests/1.0.0"
BLOB_PATH = f"/v2/bench/model/blobs/{LAYER_DIGEST}"


def _publish(url: str, token: str) -> None:
    with PushClient(url, token) as client, tempfile.TemporaryDirectory() as tmp:
        for name, data in (("config", b"{}"), ("layer", LAYER)):
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
                    "digest": LAYER_DIGEST,
                    "size": 7000,
                    "annotations": {"org.opencontainers.image.title": "weights.dat"},
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
            _allow_anonymous_pull(server.url, server.token("bench", "admin"))
            auth = [f"Authorization: Bearer {token}"]
            load = {"connections": args.connections, "seconds": args.seconds}
            for run in range(args.runs):
                ref = _load(port, "/hello", [], **load)
                got = _load(server.port, MANIFEST_PATH, auth, **load)
                anonymous = _load(server.port, MANIFEST_PATH, [], **load)
                head = _load(server.port, BLOB_PATH, auth, method="HEAD", **load)
                row = {
                    "run": run + 1,
                    "reference": ref,
                    "custody": got,
                    "anonymous": anonymous,
                    "head_blob": head,
                    "ratio": round(got["rps"] / ref["rps"], 3),
                    "anonymous_vs_token": round(anonymous["rps"] / got["rps"], 3),
                    "head_blob_vs_token": round(head["rps"] / got["rps"], 3),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        reference.terminate()
        reference.wait(timeout=30)
    print(
        json.dumps(
            {
                "benchmark": "manifest GET by tag vs a minimal Litestar JSON endpoint; "
                "anonymous manifest GET and HEAD blob vs the manifest GET with a token",
                "target": "ratio >= 0.5; anonymous and HEAD blob near 1",
                "median_ratio": _median(rows, "ratio"),
                "median_anonymous_vs_token": _median(rows, "anonymous_vs_token"),
                "median_head_blob_vs_token": _median(rows, "head_blob_vs_token"),
                "errors": sum(
                    r[k]["errors"] for r in rows for k in ("custody", "anonymous", "head_blob")
                ),
                "runs": rows,
            },
            indent=2,
        )
    )
    return 0


def _median(rows: list[dict], key: str) -> float:
    values = sorted(r[key] for r in rows)
    return float(values[len(values) // 2])


def _allow_anonymous_pull(url: str, admin_token: str) -> None:
    import httpx

    response = httpx.patch(
        f"{url}/api/v1/namespaces/bench",
        json={"anonymous_pull": True},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    response.raise_for_status()


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
