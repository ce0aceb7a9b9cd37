"""Two replicas vs one, on PostgreSQL and SeaweedFS (the ``make run-cluster`` set-up).

The cluster is started by ``scripts/run_cluster.py`` itself (weed, a fresh
PostgreSQL database, two ``custody serve`` replicas sharing them), so what is
measured is what ``make run-cluster`` runs. In the same run:

(a) manifest ``GET`` by tag with a token, requests per second with the load
    spread round-robin over both replicas, as a ratio to the same load on one of
    them (the other idle). On a 2-core machine that also runs the load
    generator, weed and PostgreSQL, this measures the overhead of a second
    replica rather than a gain: the ratio is reported, not targeted.
(b) a chunked upload of ``--size-mib`` MiB in ``--chunk-mib`` MiB PATCHes, all on
    one replica vs alternating between the two (opened and closed on the first).
    The closing PUT is timed apart: where every chunk went through the closing
    replica it uses its running sha256; split, that replica never saw half the
    bytes and re-reads and re-hashes the whole session from the bucket (Python
    cannot hand a hash state to another process). The re-hash cost is also shown
    as a ratio to hashlib over the same bytes in this process.

PostgreSQL comes from ``--database-url`` (an admin URL; a database of its own is
created and dropped), default ``$CUSTODY_TEST_POSTGRES_URL`` or
``postgresql://postgres@127.0.0.1:5432/test``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench._server import CUSTODY, free_port
from bench.manifest_get import MANIFEST_PATH, _publish

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "run_cluster.py"
MiB = 1024 * 1024
READY_SECONDS = 180.0


@dataclass
class Running:
    bases: list[str]
    ports: list[int]
    env: dict[str, str]

    def token(self, namespace: str, scopes: str) -> str:
        return subprocess.run(
            [CUSTODY, "token", "create", "--namespace", namespace, "--scopes", scopes],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()


def _admin(url: str) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database or "postgres",
        autocommit=True,
    )


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def cluster(admin_url: str, replicas: int = 2) -> Iterator[Running]:
    """``scripts/run_cluster.py`` on free ports, a scratch directory and a fresh database."""
    name = f"custody_bench_{uuid.uuid4().hex[:12]}"
    database_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    ports = [free_port() for _ in range(replicas)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    with tempfile.TemporaryDirectory(prefix="custody-bench-cluster-") as tmp:
        directory = Path(tmp)
        log = (directory / "run-cluster.out").open("wb")
        script = subprocess.Popen(
            [
                sys.executable,
                str(SCRIPT),
                "--dir",
                str(directory / "cluster"),
                "--ports",
                ",".join(map(str, ports)),
                "--weed-port-base",
                "0",
                "--database-url",
                database_url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + READY_SECONDS
            while not all(_ready(base) for base in bases):
                if script.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the cluster did not start: " + (directory / "run-cluster.out").read_text()
                    )
                time.sleep(0.5)
            env = dict(
                os.environ,
                CUSTODY_DATA_DIR=str(directory / "cluster" / "data"),
                CUSTODY_DATABASE_URL=database_url,
            )
            yield Running(bases, ports, env)
        finally:
            if script.poll() is None:
                script.send_signal(signal.SIGINT)
                try:
                    script.wait(60)
                except subprocess.TimeoutExpired:
                    script.kill()
                    script.wait()
            log.close()
            with _admin(admin_url) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _load(
    ports: list[int], path: str, headers: list[str], connections: int, seconds: float
) -> dict:
    argv = [sys.executable, "-m", "bench._load", "--port", str(ports[0])]
    for port in ports[1:]:
        argv += ["--also-port", str(port)]
    argv += ["--path", path, "--connections", str(connections), "--seconds", str(seconds)]
    for header in headers:
        argv += ["--header", header]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def _chunks(size: int, chunk: int, seed: bytes) -> Iterator[bytes]:
    """Deterministic, incompressible-enough bytes, one chunk at a time."""
    block = hashlib.sha256(seed).digest() * (MiB // 32)
    for offset in range(0, size, chunk):
        length = min(chunk, size - offset)
        body = bytearray()
        while len(body) < length:
            body += block
        body[:8] = offset.to_bytes(8, "big")
        yield bytes(body[:length])


def _digest(size: int, chunk: int, seed: bytes) -> tuple[str, float]:
    hasher = hashlib.sha256()
    blocks = list(_chunks(size, chunk, seed))
    start = time.perf_counter()
    for block in blocks:
        hasher.update(block)
    return "sha256:" + hasher.hexdigest(), time.perf_counter() - start


def _chunked_upload(
    bases: list[str], token: str, size: int, chunk: int, seed: bytes
) -> dict[str, float]:
    """POST and PUT on ``bases[0]``; PATCHes round-robin over ``bases``."""
    digest, _ = _digest(size, chunk, seed)
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=base, timeout=600) for base in bases]
    try:
        start = time.perf_counter()
        opened = clients[0].post("/v2/bench/chunked/blobs/uploads/", headers=headers)
        opened.raise_for_status()
        location = opened.headers["location"]
        for index, body in enumerate(_chunks(size, chunk, seed)):
            patched = clients[index % len(clients)].patch(location, content=body, headers=headers)
            patched.raise_for_status()
        closing = time.perf_counter()
        closed = clients[0].put(f"{location}?digest={digest}", headers=headers)
        if closed.status_code != 201:
            raise RuntimeError(f"close failed: {closed.status_code} {closed.text}")
        end = time.perf_counter()
    finally:
        for client in clients:
            client.close()
    return {"seconds": round(end - start, 3), "close_seconds": round(end - closing, 3)}


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return float(ordered[len(ordered) // 2])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench replicas")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--chunk-mib", type=int, default=16)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CUSTODY_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/test",
        help="PostgreSQL admin URL (a scratch database is created and dropped)",
    )
    args = parser.parse_args(argv)
    size, chunk = args.size_mib * MiB, args.chunk_mib * MiB
    manifest_rows: list[dict] = []
    upload_rows: list[dict] = []
    with cluster(args.database_url) as running:
        token = running.token("bench", "pull,push")
        _publish(running.bases[0], token)
        auth = [f"Authorization: Bearer {token}"]
        for run in range(args.runs):
            one = _load(running.ports[:1], MANIFEST_PATH, auth, args.connections, args.seconds)
            two = _load(running.ports, MANIFEST_PATH, auth, args.connections, args.seconds)
            row = {
                "run": run + 1,
                "one_replica": one,
                "two_replicas": two,
                "two_vs_one": round(two["rps"] / one["rps"], 3),
            }
            manifest_rows.append(row)
            print(json.dumps(row), flush=True)
        for run in range(args.runs):
            seed = f"run-{run}".encode()
            _, hash_seconds = _digest(size, chunk, seed)
            # A different blob each time: the same bytes would be deduplicated at the close.
            alone = _chunked_upload(running.bases[:1], token, size, chunk, seed + b"-one")
            split = _chunked_upload(running.bases, token, size, chunk, seed + b"-split")
            row = {
                "run": run + 1,
                "one_replica": alone,
                "split": split,
                "split_vs_one": round(split["seconds"] / alone["seconds"], 3),
                "close_split_vs_one": round(
                    split["close_seconds"] / max(alone["close_seconds"], 1e-6), 2
                ),
                "hashlib_seconds": round(hash_seconds, 3),
                "rehash_close_vs_hashlib": round(split["close_seconds"] / hash_seconds, 2),
            }
            upload_rows.append(row)
            print(json.dumps(row), flush=True)
    errors = sum(r[k]["errors"] for r in manifest_rows for k in ("one_replica", "two_replicas"))
    print(
        json.dumps(
            {
                "benchmark": "two replicas vs one on PostgreSQL + SeaweedFS: manifest GET with "
                "a token (round-robin vs one replica); a chunked upload split across "
                "replicas vs on one",
                "target": "reported, not targeted (2 shared cores: this measures overhead)",
                "size_mib": args.size_mib,
                "chunk_mib": args.chunk_mib,
                "median_manifest_two_vs_one": _median([r["two_vs_one"] for r in manifest_rows]),
                "median_manifest_rps_one": _median(
                    [r["one_replica"]["rps"] for r in manifest_rows]
                ),
                "median_manifest_rps_two": _median(
                    [r["two_replicas"]["rps"] for r in manifest_rows]
                ),
                "median_upload_split_vs_one": _median([r["split_vs_one"] for r in upload_rows]),
                "median_close_seconds_one": _median(
                    [r["one_replica"]["close_seconds"] for r in upload_rows]
                ),
                "median_close_seconds_split": _median(
                    [r["split"]["close_seconds"] for r in upload_rows]
                ),
                "median_rehash_close_vs_hashlib": _median(
                    [r["rehash_close_vs_hashlib"] for r in upload_rows]
                ),
                "errors": errors,
                "manifest_runs": manifest_rows,
                "upload_runs": upload_rows,
            },
            indent=2,
        )
    )
    return 0
