"""Fixtures for the transparency log: a log on each engine, an app and its client."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import async_sessionmaker

from registry import create_app
from registry.db.engine import create_service_engine
from registry.services import services_of
from registry.settings import Settings
from registry.tlog import TransparencyLog, load_or_create_signer


@asynccontextmanager
async def open_log(
    database_url: str, key_path: Path, origin: str | None = "test.example/log", **options: Any
) -> AsyncIterator[TransparencyLog]:
    """A started log on its own engine (one per simulated replica)."""
    engine = create_service_engine(database_url)
    tlog = TransparencyLog(
        async_sessionmaker(engine, expire_on_commit=False),
        load_or_create_signer(key_path, origin),
        **options,
    )
    try:
        await tlog.start()
        yield tlog
    finally:
        await tlog.close()
        await engine.dispose()


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "tlog.key"


@pytest.fixture
def log_client(settings: Settings) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(app=create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def append_via_app(client: TestClient, bodies: list[bytes], *, one_by_one: bool = False) -> None:  # type: ignore[type-arg]
    """Append through the app's own log, in its event loop (as the hub does)."""
    import asyncio

    tlog: TransparencyLog = services_of(client.app).tlog

    async def work() -> None:
        if one_by_one:
            for body in bodies:
                await tlog.append(body)
        else:
            await asyncio.gather(*(tlog.append(body) for body in bodies))

    assert client.blocking_portal is not None
    client.blocking_portal.call(work)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
