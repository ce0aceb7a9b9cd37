"""TUF publication cost after one push into a namespace with many versions.

A namespace with ``--versions`` versions (default 1,000) of one model, each with
``--files`` titled files, plus two aliases, is written straight into a fresh
database; ``custody tuf init`` publishes it once. Then, ``--runs`` times: one new
version is pushed (tag row and change mark in one transaction, as the OCI store
does) and the registry publishes (namespace role rebuilt from SQL and signed,
snapshot, timestamp, all stored). Reference, same run, same process: python-tuf
signing that same namespace's targets metadata alone, as one flat role
(``Metadata.sign``: canonical JSON and one Ed25519 signature). Reported as medians
and their ratio, for a flat namespace role and for hashed bins (the default
layout above ``CUSTODY_TUF_BIN_THRESHOLD`` targets).

    python -m bench tuf [--versions 1000] [--files 3] [--runs 15] [--postgres URL]
                        [--skip-postgres] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tuf.api.metadata import Metadata, Targets  # type: ignore[attr-defined]

from bench.tlog import DEFAULT_POSTGRES, _postgres_database
from registry.db import migrate
from registry.db.engine import create_service_engine
from registry.db.models import Manifest, ManifestReference, Namespace, Repository, Tag
from registry.db.types import utcnow
from registry.settings import DatabaseSettings, Settings, TufSettings
from registry.tuf import admin, catalog, namespace_changed, queries
from registry.tuf.service import publish_locked, publisher_for

LAYER = "application/vnd.cncf.model.weight.v1.raw"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def _add_version(session: AsyncSession, repository_id: int, number: int, files: int) -> None:
    now = utcnow()
    body = json.dumps({"schemaVersion": 2, "version": number}).encode()
    manifest_id = (
        await session.execute(
            insert(Manifest)
            .values(
                repository_id=repository_id,
                digest=_digest(body),
                media_type=MANIFEST,
                artifact_type=None,
                size=len(body),
                content=body,
                annotations={},
                pushed_by="bench",
                created_at=now,
            )
            .returning(Manifest.id)
        )
    ).scalar_one()
    await session.execute(
        insert(ManifestReference),
        [
            {
                "manifest_id": manifest_id,
                "position": i,
                "role": "layer",
                "digest": _digest(f"{number}/{i}".encode()),
                "media_type": LAYER,
                "size": 1000 + i,
                "title": f"shard-{i:05d}-of-{files:05d}.safetensors",
            }
            for i in range(files)
        ],
    )
    await session.execute(
        insert(Tag).values(
            repository_id=repository_id,
            name=f"1.{number}.0",
            manifest_id=manifest_id,
            is_version=True,
            created_at=now,
            updated_at=now,
            updated_by="bench",
        )
    )


async def _populate(maker: async_sessionmaker[AsyncSession], versions: int, files: int) -> int:
    async with maker() as session:
        now = utcnow()
        namespace_id = (
            await session.execute(
                insert(Namespace)
                .values(name="bench", anonymous_pull=True, created_at=now)
                .returning(Namespace.id)
            )
        ).scalar_one()
        repository_id = (
            await session.execute(
                insert(Repository)
                .values(namespace_id=namespace_id, name="bench/model", created_at=now)
                .returning(Repository.id)
            )
        ).scalar_one()
        for number in range(versions):
            await _add_version(session, repository_id, number, files)
        for alias, number in (("staging", versions - 1), ("production", versions - 2)):
            target = await session.scalar(select(Tag).where(Tag.name == f"1.{number}.0"))
            assert target is not None
            await session.execute(
                insert(Tag).values(
                    repository_id=repository_id,
                    name=alias,
                    manifest_id=target.manifest_id,
                    is_version=False,
                    created_at=now,
                    updated_at=now,
                    updated_by="bench",
                )
            )
        await session.commit()
        return int(repository_id)


async def _measure(
    url: str, workdir: Path, versions: int, files: int, runs: int, bin_threshold: int
) -> dict[str, Any]:
    settings = Settings(
        data_dir=workdir,
        database=DatabaseSettings(url=url),
        tuf=TufSettings(bin_threshold=bin_threshold),
    )
    engine = create_service_engine(url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    publisher = publisher_for(settings)
    try:
        repository_id = await _populate(maker, versions, files)
        async with maker() as session:
            await admin.initialise(session, publisher)
            await session.commit()
        publish_ms: list[float] = []
        for run in range(runs):
            async with maker() as session:
                await _add_version(session, repository_id, versions + run, files)
                await namespace_changed(session, "bench")
                await session.commit()
            started = time.perf_counter()
            result = await publish_locked(maker, publisher)
            publish_ms.append((time.perf_counter() - started) * 1000)
            assert {"snapshot", "timestamp"} < set(result.published), result
            resigned = len(set(result.published) - {"snapshot", "timestamp"})
        async with maker() as session:
            flat = Metadata(Targets(targets=await catalog.namespace_targets(session, "bench")))
            snapshot = await queries.latest_row(session, "snapshot")
        assert snapshot is not None
    finally:
        await engine.dispose()

    signer = CryptoSigner(Ed25519PrivateKey.generate())
    sign_ms: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        flat.sign(signer)
        sign_ms.append((time.perf_counter() - started) * 1000)
    publish = statistics.median(publish_ms)
    sign = statistics.median(sign_ms)
    return {
        "targets": len(flat.signed.targets),
        "flat_role_bytes": len(flat.to_bytes()),
        "roles_signed_per_push": resigned,
        "snapshot_bytes": len(snapshot.content),
        "publish_after_push_ms": round(publish, 1),
        "reference_python_tuf_sign_ms": round(sign, 1),
        "ratio": round(publish / sign, 2),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench tuf", description=__doc__)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--files", type=int, default=3)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"versions": args.versions, "files_per_version": args.files}
    layouts = {"flat": 0, "bins": TufSettings().bin_threshold}
    with tempfile.TemporaryDirectory(prefix="bench-tuf-") as tmp:
        for layout, threshold in layouts.items():
            workdir = Path(tmp) / layout
            workdir.mkdir()
            url = f"sqlite:///{workdir / 'custody.db'}"
            migrate.upgrade(url)
            key = f"sqlite_{layout}"
            figures[key] = asyncio.run(
                _measure(url, workdir / "keys", args.versions, args.files, args.runs, threshold)
            )
            print(f"tuf {key}: {figures[key]}")
            if args.skip_postgres:
                continue
            key = f"postgresql_{layout}"
            try:
                with _postgres_database(args.postgres) as pg_url:
                    figures[key] = asyncio.run(
                        _measure(
                            pg_url, workdir / "pg", args.versions, args.files, args.runs, threshold
                        )
                    )
                    print(f"tuf {key}: {figures[key]}")
            except Exception as exc:  # noqa: BLE001 - report and go on with SQLite's figure
                print(f"tuf {key} skipped: {type(exc).__name__}: {exc}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0
