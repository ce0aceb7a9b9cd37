"""Garbage-collection soak: random pushes, deletes and alias moves against zero-delay passes.

For ``--seconds``, ``--clients`` clients drive one in-process registry (SQLite and a
filesystem store by default; ``--postgres URL`` for a fresh PostgreSQL database)
with random operations: versions (some reusing blobs other pushes use), untagged
manifests, indexes, referrers, alias moves and deletes, manifest and blob
deletes, plain uploads. Two collectors (as two replicas would run) pass over the
queue with a zero delay all the while. Then the traffic stops, passes run until
nothing more goes, and every promise is checked:

* every blob any manifest names has its row and its bytes;
* every acknowledged version still names its manifest, with its index children
  and its referrers;
* nothing unreferenced is left (every blob row is named by a manifest, no
  manifest is unreachable), so the collector did its work;
* every blob row has its bytes.

Prints a JSON summary; exits 1 if any promise broke.

    python -m bench gc-soak [--seconds 30] [--clients 8] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bench.tlog import _postgres_database
from registry import create_app
from registry.auth import Scope, TokenService
from registry.db import migrate
from registry.db.engine import create_service_engine
from registry.db.models import AuditEvent, Blob, GcReview, Manifest, ManifestReference, Tag
from registry.digests import Digest
from registry.gc.collector import Collector
from registry.oci.hooks import AliasMove
from registry.services import Services, services_of
from registry.settings import DatabaseSettings, GcSettings, Settings

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
NOTE = "application/vnd.example.note.v1+json"
NAME = "acme/soak"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _descriptor(data: bytes, media_type: str) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": _sha(data), "size": len(data)}


class _AllowAll:
    async def check(self, session: Any, move: AliasMove) -> None:
        return None


@dataclass
class Ledger:
    versions: dict[str, str] = field(default_factory=dict)  # tag -> digest
    needed: set[str] = field(default_factory=set)  # manifests a version keeps (children, referrers)
    untagged: dict[str, bytes] = field(default_factory=dict)  # digest -> body (may be collected)
    operations: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    passes: int = 0
    collected_blobs: int = 0
    collected_manifests: int = 0
    bytes_freed: int = 0

    def count(self, operation: str, status: int) -> None:
        self.operations[operation] = self.operations.get(operation, 0) + 1
        key = f"{operation} {status}"
        self.statuses[key] = self.statuses.get(key, 0) + 1


class Client:
    def __init__(self, http: httpx.AsyncClient, rng: random.Random, ledger: Ledger) -> None:
        self.http, self.rng, self.ledger = http, rng, ledger

    async def blob(self, data: bytes) -> bool:
        head = await self.http.head(f"/v2/{NAME}/blobs/{_sha(data)}")
        if head.status_code == 200:
            return True
        put = await self.http.post(f"/v2/{NAME}/blobs/uploads/?digest={_sha(data)}", content=data)
        self.ledger.count("upload", put.status_code)
        if put.status_code not in (201, 409):
            raise AssertionError(f"upload answered {put.status_code}: {put.text}")
        return put.status_code == 201

    def manifest(self, layers: list[bytes], *, subject: bytes | None = None) -> bytes:
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(b"{}", EMPTY),
            "layers": [_descriptor(layer, "application/octet-stream") for layer in layers],
            "annotations": {"nonce": str(self.rng.random())},
        }
        if subject is not None:
            document["artifactType"] = NOTE
            document["subject"] = _descriptor(subject, OCI_MANIFEST)
        return json.dumps(document).encode()

    async def put(self, reference: str, body: bytes, media_type: str = OCI_MANIFEST) -> int:
        response = await self.http.put(
            f"/v2/{NAME}/manifests/{reference}", content=body, headers={"Content-Type": media_type}
        )
        if response.status_code >= 500:
            raise AssertionError(f"PUT {reference} answered {response.status_code}")
        return response.status_code


async def _operate(client: Client, pool: list[bytes], end: float, who: int) -> None:
    rng, ledger = client.rng, client.ledger
    n = 0
    while time.monotonic() < end:
        n += 1
        layers = rng.sample(pool, 2)
        if rng.random() < 0.3:  # a fresh blob now and then
            fresh = f"fresh {who} {n} {rng.random()}".encode()
            pool.append(fresh)
            layers.append(fresh)
        kind = rng.choice(
            [
                "version",
                "untagged",
                "untagged",
                "index",
                "referrer",
                "alias",
                "unalias",
                "delete",
                "unlink",
                "upload",
            ]
        )
        pushes = kind in ("version", "untagged", "index", "referrer")
        if pushes and not all([await client.blob(b"{}")] + [await client.blob(x) for x in layers]):
            continue
        if kind == "version":
            body = client.manifest(layers)
            tag = f"1.{who}.{n}"
            status = await client.put(tag, body)
            ledger.count(kind, status)
            if status == 201:
                ledger.versions[tag] = _sha(body)
        elif kind == "untagged":
            body = client.manifest(layers)
            status = await client.put(_sha(body), body)
            ledger.count(kind, status)
            if status == 201:
                ledger.untagged[_sha(body)] = body
        elif kind == "index":
            children = [client.manifest([layer]) for layer in layers[:2]]
            if not all([await client.put(_sha(c), c) == 201 for c in children]):
                ledger.count(kind, 0)
                continue
            body = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [_descriptor(c, OCI_MANIFEST) for c in children],
                }
            ).encode()
            tag = f"2.{who}.{n}"
            status = await client.put(tag, body, OCI_INDEX)
            ledger.count(kind, status)
            if status == 201:
                ledger.versions[tag] = _sha(body)
                ledger.needed.update(_sha(c) for c in children)
        elif kind == "referrer":
            if not ledger.versions:
                continue
            tag = rng.choice(sorted(ledger.versions))
            got = await client.http.get(
                f"/v2/{NAME}/manifests/{tag}", headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}
            )
            if got.status_code != 200:
                raise AssertionError(f"version {tag} answered {got.status_code}")
            body = client.manifest(layers[:1], subject=got.content)
            status = await client.put(_sha(body), body)
            ledger.count(kind, status)
            if status == 201:
                ledger.needed.add(_sha(body))
        elif kind == "alias" and ledger.untagged:
            digest = rng.choice(sorted(ledger.untagged))
            alias = rng.choice(["latest", "staging", "canary"])
            status = await client.put(alias, ledger.untagged[digest])
            ledger.count(kind, status)
        elif kind == "unalias":
            alias = rng.choice(["latest", "staging", "canary"])
            gone = await client.http.delete(f"/v2/{NAME}/manifests/{alias}")
            ledger.count(kind, gone.status_code)
        elif kind == "delete" and ledger.untagged:
            digest = rng.choice(sorted(ledger.untagged))
            gone = await client.http.delete(f"/v2/{NAME}/manifests/{digest}")
            ledger.count(kind, gone.status_code)
        elif kind == "unlink":
            gone = await client.http.delete(f"/v2/{NAME}/blobs/{_sha(rng.choice(pool))}")
            ledger.count(kind, gone.status_code)
        elif kind == "upload":
            await client.blob(rng.choice(pool))


async def _collect(collector: Collector, ledger: Ledger, end: float) -> None:
    while time.monotonic() < end:
        report = await collector.run_pass(ignore_delay=True)
        if report.errors:
            raise AssertionError(f"gc pass failed: {report.errors}")
        ledger.passes += 1
        ledger.collected_blobs += len(report.blobs)
        ledger.collected_manifests += len(report.manifests)
        ledger.bytes_freed += report.bytes_freed
        await asyncio.sleep(0.01)


async def _check(services: Services, ledger: Ledger) -> list[str]:
    broken: list[str] = []
    async with services.sessionmaker() as session:
        named = set(
            (
                await session.scalars(
                    select(ManifestReference.digest).where(ManifestReference.role != "manifest")
                )
            ).all()
        )
        rows = set((await session.scalars(select(Blob.digest))).all())
        manifests = set((await session.scalars(select(Manifest.digest))).all())
        result = await session.execute(
            select(Tag.name, Manifest.digest).join(Manifest, Manifest.id == Tag.manifest_id)
        )
        tags: dict[str, str] = {name: digest for name, digest in result.all()}  # noqa: C416
    broken += [f"blob {d} named by a manifest has no row" for d in sorted(named - rows)]
    for digest in sorted(rows - named):
        async with services.sessionmaker() as session:
            history = [
                f"{e.action}@{e.occurred_at.time()}"
                for e in await session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.subject.contains(digest))
                    .order_by(AuditEvent.id)
                )
            ]
            queued = len(
                (await session.scalars(select(GcReview).where(GcReview.digest == digest))).all()
            )
        broken.append(f"blob {digest} is left unreferenced ({queued} queued; {history})")
    for digest in sorted(rows):
        if await services.blobs.stat(Digest.parse(digest)) is None:
            broken.append(f"blob {digest} has a row but no bytes")
    for tag, digest in sorted(ledger.versions.items()):
        if tags.get(tag) != digest:
            broken.append(f"version {tag} lost {digest}")
    broken += [f"manifest {d} a version needs is gone" for d in sorted(ledger.needed - manifests)]
    return broken


@contextlib.asynccontextmanager
async def _registry(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    engine = create_service_engine(settings.effective_database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            issued = await TokenService(session).create(
                namespace="acme",
                scopes=Scope.parse_list("admin"),
                actor="bench",
                expires_in=timedelta(hours=2),
            )
            await session.commit()
    finally:
        await engine.dispose()
    app = create_app(settings, gate=_AllowAll())
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {issued.secret}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=headers, timeout=120
        ) as http:
            yield http, services_of(app)


async def soak(settings: Settings, *, seconds: float, clients: int, seed: int) -> dict[str, Any]:
    ledger = Ledger()
    async with _registry(settings) as (http, services):
        pool = [f"shared {i}".encode() for i in range(8)]

        def collector() -> Collector:
            return Collector(
                services.sessionmaker,
                services.blobs,
                delay=timedelta(0),
                on_collected=lambda _: services.blob_cache.clear(),
            )

        end = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _operate(Client(http, random.Random(seed + who), ledger), pool, end, who)
                for who in range(clients)
            ),
            _collect(collector(), ledger, end),
            _collect(collector(), ledger, end),
        )
        settle_errors: list[str] = []
        for _ in range(20):  # settle: what the last passes unreferenced goes now
            report = await collector().run_pass(ignore_delay=True)
            ledger.collected_blobs += len(report.blobs)
            ledger.collected_manifests += len(report.manifests)
            settle_errors += report.errors
            if not report.collected and not report.deferred and not report.errors:
                break
        broken = settle_errors + await _check(services, ledger)
    return {
        "seconds": seconds,
        "clients": clients,
        "operations": ledger.operations,
        "statuses": ledger.statuses,
        "versions": len(ledger.versions),
        "gc_passes": ledger.passes,
        "collected_blobs": ledger.collected_blobs,
        "collected_manifests": ledger.collected_manifests,
        "bytes_freed": ledger.bytes_freed,
        "broken": broken[:50],
        "ok": not broken,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench gc-soak")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=None, help="admin URL: soak a fresh database there")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="custody-gc-soak-") as scratch:
        data = Path(scratch) / "data"
        with contextlib.ExitStack() as stack:
            if args.postgres:
                url = stack.enter_context(_postgres_database(args.postgres))
            else:
                data.mkdir()
                url = f"sqlite:///{data / 'custody.db'}"
                migrate.upgrade(url)
            settings = Settings(
                data_dir=data,
                database=DatabaseSettings(url=url),
                gc=GcSettings(enabled=False, delay_seconds=0),
            )
            result = asyncio.run(
                soak(settings, seconds=args.seconds, clients=args.clients, seed=args.seed)
            )
    result["engine"] = "postgresql" if args.postgres else "sqlite"
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1
