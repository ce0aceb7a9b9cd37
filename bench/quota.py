"""What a namespace quota costs a push, as the namespace grows.

The quota is checked against the namespace's usage counter (``namespaces.usage_bytes``,
:mod:`registry.oci.usage`) when a blob is linked, under the namespace's lock; every
namespace's counter is kept, with a quota or without. This pushes small blobs into two
namespaces holding the same number of blob links, one with a quota and one without,
interleaved, in the same run, and reports the median push latency of each and their
ratio (the reference is the namespace without a quota: linear growth with the
namespace would show as a ratio growing with ``--links``). It also times a
``/metrics`` scrape, which reads every namespace's counter, against ``/healthz``.

The server is the real ``custody serve`` (uvicorn, one worker, SQLite). The links are
rows written straight into its database, so the counters are recounted
(``custody namespace quota NS --recount``) before the pushes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import time

import httpx
from sqlalchemy import insert, select

from bench._server import CUSTODY, Server, custody_server
from registry.db.engine import create_sync_engine
from registry.db.models import Blob, Namespace, Repository, RepositoryBlob
from registry.db.types import utcnow

BLOB_BYTES = 4096


def _seed(server: Server, namespace: str, links: int) -> None:
    """``links`` blobs (rows only) linked into ``namespace/seeded``."""
    engine = create_sync_engine(f"sqlite:///{server.workdir / 'data' / 'custody.db'}")
    now = utcnow()
    try:
        with engine.begin() as connection:
            namespace_id = connection.execute(
                select(Namespace.id).where(Namespace.name == namespace)
            ).scalar_one()
            repository_id = connection.execute(
                insert(Repository)
                .values(namespace_id=namespace_id, name=f"{namespace}/seeded", created_at=now)
                .returning(Repository.id)
            ).scalar_one()
            digests = [
                "sha256:" + hashlib.sha256(f"{namespace}-{i}".encode()).hexdigest()
                for i in range(links)
            ]
            if digests:
                connection.execute(
                    insert(Blob),
                    [{"digest": d, "size": 1 << 20, "created_at": now} for d in digests],
                )
                connection.execute(
                    insert(RepositoryBlob),
                    [
                        {"repository_id": repository_id, "blob_digest": d, "created_at": now}
                        for d in digests
                    ],
                )
    finally:
        engine.dispose()


def _push(client: httpx.Client, namespace: str) -> float:
    data = os.urandom(BLOB_BYTES)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = time.perf_counter()
    response = client.post(f"/v2/{namespace}/pushed/blobs/uploads/?digest={digest}", content=data)
    elapsed = time.perf_counter() - start
    if response.status_code != 201:
        raise RuntimeError(f"push into {namespace} failed: {response.status_code} {response.text}")
    return elapsed


def _timed_get(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    response = client.get(path)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} failed: {response.status_code}")
    return elapsed


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench quota")
    parser.add_argument("--links", type=int, default=20000, help="blob links per namespace")
    parser.add_argument("--pushes", type=int, default=200, help="pushes per namespace")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    with custody_server() as server:
        token = server.token("*", "admin")
        for namespace in ("free", "capped"):
            server.token(namespace, "pull")  # creates the namespace
            _seed(server, namespace, args.links)
            subprocess.run(  # the seeded rows bypassed the counter
                [CUSTODY, "namespace", "quota", namespace, "--recount"],
                env=server.env,
                check=True,
                capture_output=True,
            )
        subprocess.run(
            [CUSTODY, "namespace", "quota", "capped", "1PiB"],
            env=server.env,
            check=True,
            capture_output=True,
        )
        times: dict[str, list[float]] = {"free": [], "capped": []}
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            for namespace in ("free", "capped"):  # warm up both paths
                _push(client, namespace)
            for _ in range(args.pushes):
                for namespace in ("free", "capped"):  # interleaved: drift hits both alike
                    times[namespace].append(_push(client, namespace))
            scrapes, health = [], []
            for _ in range(max(args.pushes // 10, 3)):
                scrapes.append(_timed_get(client, "/metrics"))
                health.append(_timed_get(client, "/healthz"))
            metrics = client.get("/metrics").text
    gauge = 'custody_namespace_quota_bytes{namespace="capped"} '
    values = [float(line[len(gauge) :]) for line in metrics.splitlines() if line.startswith(gauge)]
    if values != [1024**5]:
        raise RuntimeError(f"the quota gauge reads {values} in /metrics, not [1 PiB]")
    stored = 'custody_namespace_storage_bytes{namespace="capped"} '
    used = [float(line[len(stored) :]) for line in metrics.splitlines() if line.startswith(stored)]
    if not used or used[0] < args.links * (1 << 20):
        raise RuntimeError(f"the storage gauge reads {used}, not the seeded links' bytes")
    report = {
        "benchmark": "blob push latency with a namespace quota vs without (same server, same run)",
        "links_per_namespace": args.links,
        "pushes_per_namespace": args.pushes,
        "median_push_ms": {name: _median_ms(values) for name, values in times.items()},
        "median_ratio_quota_vs_none": round(
            statistics.median(times["capped"]) / statistics.median(times["free"]), 3
        ),
        "median_metrics_scrape_ms": _median_ms(scrapes),
        "median_scrape_vs_healthz": round(
            statistics.median(scrapes) / statistics.median(health), 3
        ),
    }
    if not args.quiet:
        print(
            f"{args.links} links per namespace: push {report['median_push_ms']} ms "
            f"(quota/none {report['median_ratio_quota_vs_none']}x); "
            f"/metrics {report['median_metrics_scrape_ms']} ms",
            flush=True,
        )
    print(json.dumps(report, indent=2))
    return 0
