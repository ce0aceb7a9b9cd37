"""What the rate limits cost on the pull hot path.

Three ``custody serve`` processes on loopback, measured in turn in every run: one with
every limit off (``CUSTODY_RATE_LIMIT_*`` = 0), one with the default limits in memory,
one with the default limits in the local Redis (``redis://127.0.0.1:6379/0``, a key
prefix of its own, deleted after). Reports requests per second of a manifest ``GET`` by
tag with a token (served from the in-process caches, so the limiter's share shows) as
ratios to the limits-off server in the same run, with p99 latencies. Targets: memory
>= 0.9, Redis >= 0.7 (one Redis round trip per request). On a loaded machine the ratios
swing: the limiter's own cost per request (``admit_us``: one ``RateLimits.admit`` in this
process, memory and Redis, median of runs) is reported beside them, as a steadier figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from contextlib import ExitStack

from bench._server import custody_server
from bench.manifest_get import MANIFEST_PATH, _load, _median, _publish
from registry.limits import RateLimits
from registry.settings import LimitSettings

REDIS_URL = "redis://127.0.0.1:6379/0"
BENCH_TOKEN_ID = "0123456789abcdef"  # noqa: S105 - a public token id, not a secret
_OFF = {
    f"CUSTODY_RATE_LIMIT_{name}": "0"
    for name in (
        "TOKEN_READS",
        "TOKEN_WRITES",
        "ADDRESS_READS",
        "ADDRESS_WRITES",
        "AUTH_FAILURES",
        "DOWNLOAD_BYTES",
    )
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench limits")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    prefix = f"custody-bench-{uuid.uuid4().hex[:12]}"
    configs = {
        "off": _OFF,
        "memory": {"CUSTODY_RATE_LIMIT_STORE": "memory"},
        "redis": {"CUSTODY_RATE_LIMIT_STORE": REDIS_URL, "CUSTODY_RATE_LIMIT_PREFIX": prefix},
    }
    rows = []
    try:
        with ExitStack() as stack:
            servers = {}
            for name, env in configs.items():
                server = stack.enter_context(custody_server(extra_env=env))
                token = server.token("bench", "pull,push")
                _publish(server.url, token)
                servers[name] = (server, [f"Authorization: Bearer {token}"])
            load = {"connections": args.connections, "seconds": args.seconds}
            for run in range(args.runs):
                got = {
                    name: _load(server.port, MANIFEST_PATH, auth, **load)
                    for name, (server, auth) in servers.items()
                }
                row = {
                    "run": run + 1,
                    **got,
                    "memory_vs_off": round(got["memory"]["rps"] / got["off"]["rps"], 3),
                    "redis_vs_off": round(got["redis"]["rps"] / got["off"]["rps"], 3),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        _forget(prefix)
    print(
        json.dumps(
            {
                "benchmark": "manifest GET by tag with a token: default rate limits in memory "
                "and in Redis vs every limit off",
                "target": "memory_vs_off >= 0.9; redis_vs_off >= 0.7",
                "median_memory_vs_off": _median(rows, "memory_vs_off"),
                "median_redis_vs_off": _median(rows, "redis_vs_off"),
                "admit_us": asyncio.run(_admit_cost(prefix)),
                "errors": sum(r[k]["errors"] for r in rows for k in configs),
                "runs": rows,
            },
            indent=2,
        )
    )
    return 0


async def _admit_cost(prefix: str, count: int = 2000, runs: int = 5) -> dict[str, float]:
    """Microseconds one request's limit check takes in this process, per store."""
    costs: dict[str, float] = {}
    for name, store in (("memory", "memory"), ("redis", REDIS_URL)):
        limits = RateLimits(LimitSettings(store=store, key_prefix=prefix))
        samples = []
        try:
            for _ in range(runs):
                start = time.perf_counter()
                for _ in range(count):
                    await limits.admit("GET", token_id=BENCH_TOKEN_ID, address="127.0.0.1")
                samples.append((time.perf_counter() - start) / count * 1e6)
        finally:
            await limits.close()
        costs[name] = round(statistics.median(samples), 1)
    _forget(prefix)
    return costs


def _forget(prefix: str) -> None:
    """Delete the benchmark's counters from Redis."""
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(connection.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()
