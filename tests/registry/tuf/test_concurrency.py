"""Two replicas publishing while tags change: no lost change, no duplicate or skipped version."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.db.engine import create_service_engine
from registry.db.models import Repository, Tag, TufMetadata
from registry.db.types import utcnow
from registry.settings import Settings
from registry.tuf import namespace_changed, queries
from registry.tuf.service import TufService
from tests.registry.tuf.conftest import push_version
from tests.support.registry_helpers import safetensors_bytes

ALIASES = [f"candidate-{i}" for i in range(12)]


async def _add_alias(maker: async_sessionmaker[AsyncSession], name: str) -> None:
    """What set_tag does for a new alias: the tag row and the mark, in one transaction."""
    async with maker() as session:
        repository = await session.scalar(select(Repository).where(Repository.name == "acme/model"))
        version = await session.scalar(select(Tag).where(Tag.name == "1.0.0"))
        assert repository is not None and version is not None
        now = utcnow()
        session.add(
            Tag(
                repository_id=repository.id,
                name=name,
                manifest_id=version.manifest_id,
                is_version=False,
                created_at=now,
                updated_at=now,
                updated_by="test",
            )
        )
        await namespace_changed(session, "acme")
        await session.commit()


async def _race(settings: Settings) -> None:
    engines = [create_service_engine(settings.effective_database_url) for _ in range(3)]
    makers = [async_sessionmaker(e, expire_on_commit=False) for e in engines]
    replicas = [TufService(settings, makers[0]), TufService(settings, makers[1])]
    try:

        async def writer() -> None:
            for name in ALIASES:
                await _add_alias(makers[2], name)
                await asyncio.sleep(0)

        async def reader(replica: TufService) -> None:
            for _ in range(len(ALIASES)):
                await replica.timestamp()
                await asyncio.sleep(0)

        await asyncio.gather(writer(), *(reader(r) for r in replicas))
        await replicas[0].timestamp()  # whatever was marked last is published now
    finally:
        for engine in engines:
            await engine.dispose()


async def _rows(settings: Settings) -> dict[str, list[int]]:
    engine = create_service_engine(settings.effective_database_url)
    try:
        async with async_sessionmaker(engine)() as session:
            rows = (await session.execute(select(TufMetadata.role, TufMetadata.version))).all()
            latest = await queries.latest(session, "acme")
    finally:
        await engine.dispose()
    assert latest is not None
    listed = {p.rsplit("/", 1)[1] for p in latest.signed.targets if "/@alias/" in p}
    assert listed == set(ALIASES)  # the last change was not lost
    found: dict[str, list[int]] = {}
    for role, version in rows:
        found.setdefault(role, []).append(version)
    return found


def test_replicas_publish_without_losing_or_duplicating(client, oci, root_json, settings):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    asyncio.run(_race(settings))
    found = asyncio.run(_rows(settings))
    for role, numbers in found.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), role  # no gap, no repeat
    timestamp = json.loads(client.get("/tuf/timestamp.json").content)["signed"]
    assert timestamp["version"] == max(found["timestamp"])
    assert timestamp["meta"]["snapshot.json"]["version"] == max(found["snapshot"])
