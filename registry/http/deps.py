"""Handler dependencies: the app's services, the DB session, the blob store, the settings.

The caller (``Caller``, :func:`provide_principal`) is authentication's: :mod:`registry.auth.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import ClientDisconnected, PayloadTooLarge
from registry.services import Services, services_of
from registry.settings import Settings
from registry.storage import BlobStore

# Handler parameter types for the app-level dependencies, resolved by name.
DbSession = NamedDependency[AsyncSession]
Blobs = NamedDependency[BlobStore]
AppSettings = NamedDependency[Settings]
# Not validated: the object is the app's own, and its field types are not resolvable
# at run time (registry.services imports them for type checking only).
AppServices = NamedDependency[SkipValidation[Services]]


def provide_services(request: Request[Any, Any, Any]) -> Services:
    return services_of(request.app)


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    async with services_of(request.app).sessionmaker() as session:
        yield session


def provide_blobs(request: Request[Any, Any, Any]) -> BlobStore:
    return services_of(request.app).blobs


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    return services_of(request.app).settings


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
