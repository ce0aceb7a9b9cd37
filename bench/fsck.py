"""``custody fsck`` over many objects: objects per second, and whether it scales linearly.

For each size (``--reference`` objects, default 10,000, then ``--objects``, default
100,000) a fresh SQLite database and filesystem store are filled directly: one file
of ``--object-bytes`` under ``sha256/`` and one ``blobs`` row per object. Then, in
the same process, timed once each:

* the reference floor: walking the blob tree and ``stat``-ing every file
  (``os.walk``), which fsck cannot beat;
* ``fsck`` (sizes only: list the store, read every row, compare);
* ``fsck --verify-digests`` (also reads and re-hashes every byte).

Reported: objects/s for each, fsck's time over the walk's (same run, same tree), and
the scaling ratio: objects/s at the large size over objects/s at the reference size
(1.0 is linear; below 1 is worse than linear).

With ``--s3-objects N`` (default 10,000; 0 skips) the same is measured on a local
SeaweedFS (``weed server``) at N and N/10 objects; its reference floor is one
listing of the bucket prefix (``list_objects_v2``). Filling a bucket object by
object is slow, hence the smaller default there.

    python -m bench fsck [--objects 100000] [--reference 10000] [--object-bytes 256]
                         [--s3-objects 10000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from registry.cli.fsck import run_fsck
from registry.db import migrate
from registry.db.engine import create_sync_engine
from registry.db.models import Blob
from registry.db.types import utcnow
from registry.settings import DatabaseSettings, Settings, StorageSettings

if TYPE_CHECKING:
    from tests.support.seaweedfs import SeaweedFS

_ROWS_PER_INSERT = 5000


def _objects(count: int, size: int, seed: str) -> Iterator[tuple[str, bytes]]:
    for index in range(count):
        stem = f"{seed}/{index}/".encode()
        data = (stem * (size // len(stem) + 1))[:size]
        yield "sha256:" + hashlib.sha256(data).hexdigest(), data


def _insert_rows(url: str, rows: list[tuple[str, int]]) -> None:
    engine = create_sync_engine(url)
    now = utcnow()
    try:
        with engine.begin() as connection:
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                batch = rows[start : start + _ROWS_PER_INSERT]
                connection.execute(
                    insert(Blob), [{"digest": d, "size": s, "created_at": now} for d, s in batch]
                )
    finally:
        engine.dispose()


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def _walk(root: Path) -> int:
    count = 0
    for directory, _, names in os.walk(root / "sha256"):
        for name in names:
            (Path(directory) / name).stat()
            count += 1
    return count


def _fsck(settings: Settings, count: int, *, verify: bool) -> float:
    seconds, report = _timed(lambda: asyncio.run(run_fsck(settings, verify_digests=verify)))
    assert report.clean and report.checked.blob_files == count, report.problems[:5]
    return float(seconds)


def _measure(settings: Settings, count: int, floor: Callable[[], int]) -> dict[str, Any]:
    _fsck(settings, count, verify=False)  # warm-up: imports, clients, caches
    seconds, listed = _timed(floor)
    assert listed == count
    return _figures(
        count,
        seconds,
        _fsck(settings, count, verify=False),
        _fsck(settings, count, verify=True),
    )


def _figures(count: int, floor: float, sizes_only: float, scrub: float) -> dict[str, Any]:
    return {
        "objects": count,
        "reference_list_seconds": round(floor, 3),
        "fsck_seconds": round(sizes_only, 3),
        "fsck_verify_seconds": round(scrub, 3),
        "fsck_objects_per_second": round(count / sizes_only),
        "fsck_verify_objects_per_second": round(count / scrub),
        "fsck_vs_reference": round(sizes_only / floor, 2),
    }


def measure_filesystem(workdir: Path, count: int, object_bytes: int) -> dict[str, Any]:
    """Fill a fresh SQLite + filesystem registry with ``count`` objects; time fsck on it."""
    workdir.mkdir(parents=True)
    url = f"sqlite:///{workdir / 'custody.db'}"
    migrate.upgrade(url)
    settings = Settings(data_dir=workdir, database=DatabaseSettings(url=url))
    rows: list[tuple[str, int]] = []
    for digest, data in _objects(count, object_bytes, workdir.name):
        path = settings.blob_dir / "sha256" / digest[7:9] / digest[7:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        rows.append((digest, len(data)))
    (settings.blob_dir / "_uploads").mkdir()
    (settings.blob_dir / "_sessions").mkdir()
    _insert_rows(url, rows)
    return _measure(settings, count, lambda: _walk(settings.blob_dir))


def measure_s3(server: SeaweedFS, workdir: Path, count: int, object_bytes: int) -> dict[str, Any]:
    """The same on a SeaweedFS bucket (a fresh prefix), with SQLite."""
    workdir.mkdir(parents=True)
    url = f"sqlite:///{workdir / 'custody.db'}"
    migrate.upgrade(url)
    prefix = f"bench-fsck-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        data_dir=workdir,
        database=DatabaseSettings(url=url),
        storage=StorageSettings(
            location=f"s3://{server.bucket}/{prefix}",
            s3_endpoint_url=server.endpoint_url,
            s3_access_key_id=server.access_key_id,
            s3_secret_access_key=server.secret_access_key,
        ),
    )
    client = server.client()
    objects = list(_objects(count, object_bytes, prefix))

    def put(item: tuple[str, bytes]) -> None:
        digest, data = item
        key = f"{prefix}/sha256/{digest[7:9]}/{digest[7:]}"
        client.put_object(Bucket=server.bucket, Key=key, Body=data)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, objects))
    _insert_rows(url, [(d, len(data)) for d, data in objects])

    def listing() -> int:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=server.bucket, Prefix=f"{prefix}/"
        )
        return sum(len(page.get("Contents", [])) for page in pages)

    return _measure(settings, count, listing)


def _scaling(small: dict[str, Any], large: dict[str, Any]) -> dict[str, float]:
    return {
        "fsck": round(large["fsck_objects_per_second"] / small["fsck_objects_per_second"], 2),
        "fsck_verify": round(
            large["fsck_verify_objects_per_second"] / small["fsck_verify_objects_per_second"], 2
        ),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench fsck", description=__doc__)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--reference", type=int, default=10_000)
    parser.add_argument("--object-bytes", type=int, default=256)
    parser.add_argument("--s3-objects", type=int, default=10_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"object_bytes": args.object_bytes}
    with tempfile.TemporaryDirectory(prefix="bench-fsck-") as tmp:
        small = measure_filesystem(Path(tmp) / "fs-small", args.reference, args.object_bytes)
        print(f"fsck filesystem: {small}", flush=True)
        large = measure_filesystem(Path(tmp) / "fs-large", args.objects, args.object_bytes)
        print(f"fsck filesystem: {large}", flush=True)
        figures["filesystem"] = {
            "reference": small,
            "large": large,
            "scaling": _scaling(small, large),
        }
        if args.s3_objects:
            from tests.support.seaweedfs import run_seaweedfs

            weed_dir = Path(tmp) / "weed"
            weed_dir.mkdir()
            try:
                with run_seaweedfs(weed_dir) as server:
                    reference = max(1, args.s3_objects // 10)
                    s3_small = measure_s3(
                        server, Path(tmp) / "s3-small", reference, args.object_bytes
                    )
                    print(f"fsck s3: {s3_small}", flush=True)
                    s3_large = measure_s3(
                        server, Path(tmp) / "s3-large", args.s3_objects, args.object_bytes
                    )
                    print(f"fsck s3: {s3_large}", flush=True)
                figures["s3"] = {
                    "reference": s3_small,
                    "large": s3_large,
                    "scaling": _scaling(s3_small, s3_large),
                }
            except FileNotFoundError as exc:
                print(f"fsck s3 skipped: {exc}")
    print(json.dumps(figures, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0
