"""A namespace's role cannot vouch for another namespace's targets."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from tuf.api.metadata import Metadata, MetaFile, TargetFile  # type: ignore[attr-defined]

from registry.db.engine import create_service_engine
from registry.settings import Settings
from registry.tuf import queries
from registry.tuf.publisher import sign
from registry.tuf.service import publisher_for
from tests.registry.tuf.conftest import make_updater, push_version
from tests.support.registry_helpers import bearer, safetensors_bytes


def _forge_in_acme(settings: Settings, path: str) -> None:
    """acme's own (registry-held) key signs a target under ``other/``..."""

    async def work() -> None:
        engine = create_service_engine(settings.effective_database_url)
        publisher = publisher_for(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                await queries.lock(session)
                acme = await queries.latest(session, "acme")
                targets = await queries.latest(session, "targets")
                assert acme is not None and targets is not None
                forged = Metadata(acme.signed)
                forged.signed.version += 1
                forged.signed.targets[path] = TargetFile(1, {"sha256": "00" * 32}, path)
                sign(forged, publisher.keys, "acme", targets.signed)
                await queries.append(session, "acme", forged)
                # ...and the online key lists it in a new snapshot and timestamp.
                root = await queries.latest(session, "root")
                snapshot = await queries.latest(session, "snapshot")
                timestamp = await queries.latest(session, "timestamp")
                assert root is not None and snapshot is not None and timestamp is not None
                snapshot.signed.meta["acme.json"] = MetaFile(version=forged.signed.version)
                snapshot.signed.version += 1
                sign(snapshot, publisher.keys, "snapshot", root.signed)
                await queries.append(session, "snapshot", snapshot)
                timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
                timestamp.signed.version += 1
                sign(timestamp, publisher.keys, "timestamp", root.signed)
                await queries.append(session, "timestamp", timestamp)
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(work())


def test_acme_cannot_publish_other_targets(
    client, oci, root_json, settings, make_token, tmp_path: Path
):
    push_version(oci, "1.0.0", {"model.safetensors": safetensors_bytes()})
    other = make_token(namespace="other", scopes="push")
    push_version(
        type(oci)(client, bearer(other.secret), name="other/model"),
        "1.0.0",
        {"model.safetensors": safetensors_bytes(b"\5" * 4)},
    )
    client.get("/tuf/timestamp.json")
    _forge_in_acme(settings, "other/model/1.0.0/evil.safetensors")

    site = make_token(namespace="*", scopes="pull")
    updater = make_updater(client, tmp_path / "meta", root_json, bearer(site.secret))
    updater.refresh()
    # ngclient walks only the role whose paths match: other's, which lists no such file.
    assert updater.get_targetinfo("other/model/1.0.0/evil.safetensors") is None
    assert updater.get_targetinfo("other/model/1.0.0/model.safetensors") is not None
    assert updater.get_targetinfo("acme/model/1.0.0/model.safetensors") is not None
    # The forged acme version was accepted as acme's (validly signed): only its paths failed it.
    assert b"other/model/1.0.0/evil" in (tmp_path / "meta" / "acme.json").read_bytes()
