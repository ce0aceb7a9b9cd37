"""Request-scoped dependencies: the DB session, the blob store, the settings.

The caller (``Caller``, :func:`provide_principal`) is authentication's: :mod:`registry.auth.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.errors import ClientDisconnected, PayloadTooLarge
from registry.settings import Settings
from registry.storage import BlobStore

# Handler parameter types for the app-level dependencies, resolved by name.
DbSession = NamedDependency[AsyncSession]
Blobs = NamedDependency[BlobStore]
AppSettings = NamedDependency[Settings]


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    maker: async_sessionmaker[AsyncSession] = state.sessionmaker
    async with maker() as session:
        yield session


def provide_blobs(state: State) -> BlobStore:
    store: BlobStore = state.blobs
    return store


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


async def read_limited_body(
    request: Request[Any, Any, Any], limit: int, too_large: PayloadTooLarge
) -> bytes:
    """The whole body of a small document; ``too_large`` once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in body_chunks(request):
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def body_chunks(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """Stream the request body straight from ASGI, never buffering it whole.

    A client that goes away mid-body raises :class:`ClientDisconnected`, so the
    caller's cleanup runs and nothing is stored.
    """
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("the client disconnected before the body was complete")
        body: bytes = message.get("body", b"")  # type: ignore[assignment]
        if body:
            yield body
        if not message.get("more_body", False):
            return
