"""Fixtures for the rate limits: apps with chosen limits, and a Redis key prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory
from litestar.testing import TestClient

from registry import create_app
from registry.settings import LimitSettings, Settings

REDIS_URL = "redis://127.0.0.1:6379/0"

#: Every limit off: a test turns on the ones it checks.
OFF = LimitSettings(
    token_reads_per_second=0,
    token_writes_per_second=0,
    address_reads_per_second=0,
    address_writes_per_second=0,
    auth_failures=0,
    download_bytes=0,
)

AppFactory = Callable[..., TestClient]  # type: ignore[type-arg]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[AppFactory]:
    """Start a registry app (its own process state) with ``LimitSettings`` fields given."""
    clients: list[TestClient] = []  # type: ignore[type-arg]

    def factory(limits: LimitSettings | None = None, **fields: object) -> TestClient:  # type: ignore[type-arg]
        chosen = replace(limits or OFF, **fields)  # type: ignore[arg-type]
        app = create_app(replace(settings, limits=chosen))
        client = TestClient(app=app, base_url="http://127.0.0.1")
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in reversed(clients):
        client.__exit__(None, None, None)


Freeze = Callable[[], FrozenDateTimeFactory]


@pytest.fixture
def freeze() -> Iterator[Freeze]:
    """Freeze the clock the in-memory store reads (``time.time``); asyncio keeps real time.

    Called once the apps have started: freezing ``date`` while Litestar imports its
    plugins (pydantic) breaks them.
    """
    freezers: list[Any] = []

    def start() -> FrozenDateTimeFactory:
        freezer = freeze_time(datetime.now(UTC), real_asyncio=True)
        freezers.append(freezer)
        return freezer.start()  # type: ignore[return-value]

    yield start
    for freezer in freezers:
        freezer.stop()


@pytest.fixture
def redis_limits() -> Iterator[LimitSettings]:
    """Limits kept in the local Redis under a prefix of this test's own, deleted after.

    Redis runs on every machine this project runs on: unreachable is a failure, not a skip.
    """
    prefix = f"custody-test-{uuid.uuid4().hex[:12]}"
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        connection.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}", pytrace=False)
    try:
        yield replace(OFF, store=REDIS_URL, key_prefix=prefix)
    finally:
        keys = list(connection.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            connection.delete(*keys)
        connection.close()
