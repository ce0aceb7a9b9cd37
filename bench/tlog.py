"""Transparency log: durable append throughput, and inclusion-proof time at 1M entries.

(a) Append throughput: ``--concurrency`` callers append ``--entries`` entries
    through :class:`registry.tlog.TransparencyLog` (each returns only after its
    batch committed: entries, subtree nodes and a signed checkpoint in one
    transaction). Reference, same engine, same run: raw Core ``executemany`` of
    the same entry rows in committed batches of 1,000 (no tree, no signature).
    Reported as entries/s and a ratio; target >= 2,000 entries/s. One caller at a
    time (one transaction per entry) is shown too, to see what batching buys.
    Run on SQLite (WAL, a file) and PostgreSQL (loopback) when reachable.
(b) Inclusion proof at ``--size`` entries (default 1,000,000; SQLite, built in
    bulk from the log's own tree code): ``inclusion_proof(i)`` for random i, the
    median and p99 in ms (target < 5 ms). Reference: a primary-key point lookup
    of one row through the same session factory, same run, as a ratio.

    python -m bench tlog [--entries 20000] [--concurrency 256] [--size 1000000]
                         [--postgres URL] [--skip-postgres] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench._tlog_fill import entry_body, fill_sqlite
from registry.db import migrate
from registry.db.engine import create_service_engine
from registry.db.models import TlogEntry, TlogNode
from registry.db.types import utcnow
from registry.tlog import TransparencyLog, load_or_create_signer
from registry.tlog.queries import node_key
from registry.tlog.tree import hash_leaf

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def _postgres_database(admin_url: str) -> Iterator[str]:
    admin = make_url(admin_url)
    name = f"custody_bench_{uuid.uuid4().hex[:10]}"
    params: dict[str, Any] = {
        "host": admin.host or "127.0.0.1",
        "port": admin.port or 5432,
        "user": admin.username,
        "dbname": admin.database,
        "autocommit": True,
    }
    with psycopg.connect(**params) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(**params) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


async def _log_appends(url: str, key: Path, entries: int, concurrency: int) -> float:
    engine = create_service_engine(url)
    tlog = TransparencyLog(
        async_sessionmaker(engine, expire_on_commit=False), load_or_create_signer(key, None)
    )
    await tlog.start()
    counter = iter(range(entries))

    async def caller() -> None:
        for index in counter:
            await tlog.append(entry_body(index))

    try:
        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        await tlog.close()
        await engine.dispose()
    return entries / elapsed


async def _raw_inserts(url: str, entries: int, offset: int, batch: int = 1000) -> float:
    engine = create_service_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    table: Any = TlogEntry.__table__
    try:
        started = time.perf_counter()
        for start in range(0, entries, batch):
            now = utcnow()
            rows = [
                {
                    "idx": offset + i,
                    "leaf_hash": hash_leaf(entry_body(i)),
                    "body": entry_body(i),
                    "integrated_at": now,
                }
                for i in range(start, min(start + batch, entries))
            ]
            async with maker() as session, session.begin():
                await session.execute(insert(table), rows)
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return entries / elapsed


def _append_figures(url: str, workdir: Path, entries: int, concurrency: int) -> dict[str, float]:
    key = workdir / "tlog.key"
    reference = asyncio.run(_raw_inserts(url, entries, offset=10**9))
    batched = asyncio.run(_log_appends(url, key, entries, concurrency))
    serial_count = max(50, entries // 100)
    serial = asyncio.run(_log_appends(url, key, serial_count, 1))
    return {
        "log_entries_per_s": round(batched),
        "reference_raw_inserts_per_s": round(reference),
        "ratio": round(batched / reference, 3),
        "one_caller_entries_per_s": round(serial),
        "target_entries_per_s": 2000,
    }


async def _proof_times(url: str, key: Path, size: int, samples: int) -> dict[str, float]:
    engine = create_service_engine(url)
    maker: async_sessionmaker[AsyncSession] = async_sessionmaker(engine, expire_on_commit=False)
    tlog = TransparencyLog(maker, load_or_create_signer(key, None))
    rng = random.Random(9)
    try:
        await tlog.start()
        for _ in range(20):  # warm the page cache and the connection pool
            await tlog.inclusion_proof(rng.randrange(size))
        proof_ms, lookup_ms = [], []
        for _ in range(samples):
            index = rng.randrange(size)
            started = time.perf_counter()
            await tlog.inclusion_proof(index)
            proof_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            async with maker() as session:
                await session.execute(
                    select(TlogNode.hash).where(TlogNode.node_id == node_key(0, index))
                )
            lookup_ms.append((time.perf_counter() - started) * 1000)
    finally:
        await tlog.close()
        await engine.dispose()
    proof_ms.sort()
    lookup_ms.sort()
    median = statistics.median(proof_ms)
    return {
        "tree_size": size,
        "proof_median_ms": round(median, 3),
        "proof_p99_ms": round(proof_ms[int(len(proof_ms) * 0.99) - 1], 3),
        "reference_point_lookup_median_ms": round(statistics.median(lookup_ms), 3),
        "ratio_to_point_lookup": round(median / statistics.median(lookup_ms), 2),
        "target_ms": 5,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench tlog")
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--postgres", default=os.environ.get("CUSTODY_BENCH_POSTGRES_URL"))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"append": {}, "inclusion_proof": {}}
    with tempfile.TemporaryDirectory(prefix="custody-bench-tlog-") as scratch:
        workdir = Path(scratch)
        database = workdir / "append.db"
        migrate.upgrade(f"sqlite:///{database}")
        figures["append"]["sqlite"] = _append_figures(
            f"sqlite:///{database}", workdir, args.entries, args.concurrency
        )
        print("append sqlite:", json.dumps(figures["append"]["sqlite"]), flush=True)
        if not args.skip_postgres:
            try:
                with _postgres_database(args.postgres or DEFAULT_POSTGRES) as url:
                    figures["append"]["postgresql"] = _append_figures(
                        url, workdir, args.entries, args.concurrency
                    )
                print("append postgresql:", json.dumps(figures["append"]["postgresql"]))
            except psycopg.OperationalError as exc:
                print(f"append postgresql: skipped ({exc})")

        big = workdir / "big.db"
        migrate.upgrade(f"sqlite:///{big}")
        key = workdir / "big.key"
        started = time.perf_counter()
        fill_sqlite(big, args.size, load_or_create_signer(key, None), entries=False)
        built = time.perf_counter() - started
        figures["inclusion_proof"]["sqlite"] = asyncio.run(
            _proof_times(f"sqlite:///{big}", key, args.size, args.samples)
        )
        figures["inclusion_proof"]["sqlite"]["bulk_build_s"] = round(built, 1)
        print("inclusion proof sqlite:", json.dumps(figures["inclusion_proof"]["sqlite"]))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0
