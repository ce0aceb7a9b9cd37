"""The namespace usage counter equals a full recount after any mix of pushes, mounts,
deletes, SBOM attaches and garbage collection, some of them concurrent; ``--recount``
repairs a counter that drifted. Both engines."""

from __future__ import annotations

import asyncio
import json
import random
import struct
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import BigInteger, Boolean, String, column, insert, select, table

from custody.cli import cli
from registry.db import migrate
from registry.db.engine import create_sync_engine
from registry.db.models import AuditEvent, Blob, Namespace, Repository, RepositoryBlob
from registry.db.types import UTCDateTime, utcnow
from registry.oci import usage
from registry.settings import GcSettings, Settings
from signing.sbom import BomMetadata, generate_bom
from tests.registry.gc.support import Registry, manifest, registry
from tests.support.registry_helpers import sha256_digest

REPOSITORIES = ("acme/one", "acme/two", "beta/one", "beta/two")
#: A small pool, so the same digest lands in several repositories and namespaces.
LAYERS = [bytes([65 + i]) * (1 + 97 * i) for i in range(6)]
#: Blobs no manifest names: unlinking them is allowed.
LOOSE = [bytes([97 + i]) * (3 + 101 * i) for i in range(3)]
CDX = "application/vnd.cyclonedx+json"


@pytest.fixture
def counted_settings(settings: Settings) -> Settings:
    return replace(settings, gc=GcSettings(enabled=False, delay_seconds=0))


@pytest.fixture
def site_token(make_token: Any) -> str:
    secret: str = make_token(namespace="*", scopes="admin").secret
    return secret


async def _drift(reg: Registry) -> dict[str, tuple[int, int]]:
    """Namespaces whose counter differs from the recount: name -> (counter, recount)."""
    async with reg.services.sessionmaker() as session:
        rows = (
            await session.execute(select(Namespace.id, Namespace.name, Namespace.usage_bytes))
        ).all()
        counts = {
            name: (counter, await usage.computed(session, nid)) for nid, name, counter in rows
        }
    return {name: pair for name, pair in counts.items() if pair[0] != pair[1]}


async def _push_manifest(reg: Registry, rng: random.Random, repository: str) -> str | None:
    layers = rng.sample(LAYERS, rng.randint(1, 3))
    for data in [b"{}", *layers]:
        if (await reg.push_blob(data, repository)).status_code != 201:
            return None
    body = manifest(layers)
    reference = rng.choice([sha256_digest(body), "latest", "candidate"])
    response = await reg.put_manifest(reference, body, repository)
    # 400 MANIFEST_BLOB_UNKNOWN: a concurrent unlink or pass won the race (and was counted).
    assert response.status_code in (201, 400), response.text
    return sha256_digest(body)


async def _operation(
    reg: Registry,
    rng: random.Random,
    pushed: list[tuple[str, str]],
    loose: list[tuple[str, str]],
    done: Counter[str],
) -> None:
    """One random change; ``done`` counts those that changed something."""
    repository = rng.choice(REPOSITORIES)
    kind = rng.choice(
        ("blob", "blob", "manifest", "manifest", "mount", "delete", "unlink", "unlink", "gc")
    )
    client = reg.client
    if kind == "blob":
        data = rng.choice(LAYERS + LOOSE)
        assert (await reg.push_blob(data, repository)).status_code == 201
        loose.append((repository, sha256_digest(data)))
        done[kind] += 1
    elif kind == "manifest":
        digest = await _push_manifest(reg, rng, repository)
        if digest is not None:
            pushed.append((repository, digest))
            done[kind] += 1
    elif kind == "mount" and loose:
        source, digest = rng.choice(loose)  # there once: maybe unlinked or collected since
        response = await client.post(
            f"/v2/{repository}/blobs/uploads/", params={"mount": digest, "from": source}
        )
        assert response.status_code in (201, 202), response.text
        done[kind] += response.status_code == 201
        if response.status_code == 201:
            loose.append((repository, digest))
    elif kind == "delete" and pushed:
        repository, digest = rng.choice(pushed)
        response = await client.delete(f"/v2/{repository}/manifests/{digest}")
        assert response.status_code in (202, 404, 409), response.text
        done[kind] += response.status_code == 202
    elif kind == "unlink" and loose:
        repository, digest = rng.choice(loose)
        response = await client.delete(f"/v2/{repository}/blobs/{digest}")
        assert response.status_code in (202, 404, 409), response.text
        done[kind] += response.status_code == 202
    elif kind == "gc":
        report = await reg.collector().run_pass(ignore_delay=True)
        assert not report.errors, report.errors
        done[kind] += bool(report.collected)


def _model_with_sbom(tmp_path: Path) -> tuple[list[bytes], list[str], bytes]:
    model = tmp_path / "model"
    model.mkdir()
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}})
    weights = struct.pack("<Q", len(header)) + header.encode() + bytes(16)
    (model / "model.safetensors").write_bytes(weights)
    (model / "config.json").write_text('{"arch": "unet"}')
    files = sorted(model.iterdir())
    bom = generate_bom(model, BomMetadata(name="model")).to_bytes()
    return [p.read_bytes() for p in files], [p.name for p in files], bom


async def _scenario(reg: Registry, tmp_path: Path, seed: int, steps: int) -> None:
    rng = random.Random(seed)
    # A version with an SBOM attached (a referrer manifest and two blobs, counted once).
    files, titles, bom = _model_with_sbom(tmp_path)
    for data in [b"{}", *files]:
        assert (await reg.push_blob(data, "acme/one")).status_code == 201
    document = json.loads(manifest(files))
    for layer, title in zip(document["layers"], titles, strict=True):
        layer["annotations"] = {"org.opencontainers.image.title": title}
    body = json.dumps(document).encode()
    assert (await reg.put_manifest("1.0.0", body, "acme/one")).status_code == 201
    attached = await reg.client.post(
        "/api/v1/models/acme/one/versions/1.0.0/sbom",
        content=bom,
        headers={"Content-Type": CDX},
    )
    assert attached.status_code in (200, 201), attached.text
    assert await _drift(reg) == {}
    pushed: list[tuple[str, str]] = []
    loose: list[tuple[str, str]] = []
    done: Counter[str] = Counter()
    for step in range(steps):
        # One to three operations at once: the namespace lock must keep the count exact.
        await asyncio.gather(
            *(_operation(reg, rng, pushed, loose, done) for _ in range(rng.randint(1, 3)))
        )
        assert await _drift(reg) == {}, f"seed {seed}, step {step}"
    report = await reg.collector().run_pass(ignore_delay=True)
    assert not report.errors
    assert await _drift(reg) == {}
    kinds = {"blob", "manifest", "mount", "delete", "unlink", "gc"}
    assert {kind for kind, count in done.items() if count} == kinds, done  # each was exercised


@pytest.mark.parametrize("seed", [1, 2])
def test_the_counter_equals_a_recount_after_random_changes(
    counted_settings: Settings, site_token: str, tmp_path: Path, seed: int
) -> None:
    async def scenario() -> None:
        async with registry(counted_settings, site_token) as reg:
            await _scenario(reg, tmp_path, seed, steps=40)
            async with reg.services.sessionmaker() as session:
                counters = dict(
                    (await session.execute(select(Namespace.name, Namespace.usage_bytes))).all()
                )
            assert counters["acme"] > 0  # the version, its SBOM and their blobs stay

    asyncio.run(scenario())


def test_recount_repairs_a_counter_that_drifted(tmp_path: Path, database_url: str) -> None:
    env = {"CUSTODY_DATA_DIR": str(tmp_path / "data"), "CUSTODY_DATABASE_URL": database_url}

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    assert invoke("namespace", "create", "acme").exit_code == 0
    engine = create_sync_engine(database_url)
    try:
        with engine.begin() as connection:  # rows written behind Custody's back
            namespace_id = connection.execute(
                select(Namespace.id).where(Namespace.name == "acme")
            ).scalar_one()
            repository_id = connection.execute(
                insert(Repository)
                .values(namespace_id=namespace_id, name="acme/restored", created_at=utcnow())
                .returning(Repository.id)
            ).scalar_one()
            for size in (1000, 234):
                digest = sha256_digest(str(size).encode())
                connection.execute(
                    insert(Blob).values(digest=digest, size=size, created_at=utcnow())
                )
                connection.execute(
                    insert(RepositoryBlob).values(
                        repository_id=repository_id, blob_digest=digest, created_at=utcnow()
                    )
                )
        shown = json.loads(invoke("namespace", "quota", "acme", "--json").stdout)
        assert shown["used_bytes"] == 0  # the counter did not see them
        repaired = invoke("namespace", "quota", "acme", "--recount", "--json")
        assert repaired.exit_code == 0, repaired.output
        assert json.loads(repaired.stdout) == {
            "name": "acme",
            "quota_bytes": None,
            "used_bytes": 1234,
            "drift_bytes": -1234,
        }
        again = invoke("namespace", "quota", "acme", "--recount")
        assert "recounted: the counter was right" in again.stdout
        assert "storage 1.2 KiB (no quota)" in again.stdout
        with engine.connect() as connection:
            events = connection.execute(
                select(AuditEvent.detail).where(AuditEvent.action == "namespace.usage.recount")
            ).all()
            assert [row.detail for row in events] == [{"counted_bytes": 0, "used_bytes": 1234}]
    finally:
        engine.dispose()


def test_the_migration_fills_the_counter(database_url: str) -> None:
    """0010 computes the counter of existing namespaces (downgrade to 0009, write rows, up)."""
    # Tables as 0009 left them: the model's would write ``usage_bytes`` too.
    namespaces = table(
        "namespaces",
        column("id", BigInteger),
        column("name", String),
        column("anonymous_pull", Boolean),
        column("created_at", UTCDateTime),
    )
    repositories = table(
        "repositories",
        column("id", BigInteger),
        column("namespace_id", BigInteger),
        column("name", String),
        column("created_at", UTCDateTime),
    )
    shared = sha256_digest(b"shared")
    command.downgrade(migrate.alembic_config(database_url), "0009")
    engine = create_sync_engine(database_url)
    try:
        with engine.begin() as connection:
            namespace_id = connection.execute(
                insert(namespaces)
                .values(name="old", anonymous_pull=False, created_at=utcnow())
                .returning(namespaces.c.id)
            ).scalar_one()
            connection.execute(insert(Blob).values(digest=shared, size=500, created_at=utcnow()))
            for name in ("old/a", "old/b"):  # one blob in two repositories: counted once
                repository_id = connection.execute(
                    insert(repositories)
                    .values(namespace_id=namespace_id, name=name, created_at=utcnow())
                    .returning(repositories.c.id)
                ).scalar_one()
                connection.execute(
                    insert(RepositoryBlob).values(
                        repository_id=repository_id, blob_digest=shared, created_at=utcnow()
                    )
                )
    finally:
        engine.dispose()
        migrate.upgrade(database_url)
    engine = create_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            used = connection.execute(select(Namespace.usage_bytes)).scalar_one()
    finally:
        engine.dispose()
    assert used == 500
