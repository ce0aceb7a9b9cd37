"""Handler dependencies: the app's services, the DB session, the caller, the blob store."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import Principal, TokenService
from registry.auth.access import PREFIX as ACCESS_PREFIX
from registry.auth.access import AccessTokenService
from registry.auth.tokens import hash_token
from registry.db.types import utcnow
from registry.errors import ClientDisconnected, PayloadTooLarge, Unauthorized
from registry.services import Services, services_of
from registry.settings import Settings
from registry.storage import BlobStore

# Handler parameter types for the app-level dependencies, resolved by name.
DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
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


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Authenticate from ``Authorization``: a Bearer token, or Basic with it as password.

    A cached credential costs no database session at all (the pull hot path).
    """
    header = request.headers.get("authorization")
    if not header:
        return Principal.anonymous()
    services = services_of(request.app)
    key = hash_token(header)
    cached = services.auth_cache.get(key)
    if cached is not None and (cached.expires_at is None or cached.expires_at > utcnow()):
        return cached
    async with services.sessionmaker() as db_session:
        principal = await _authenticate(services, header, db_session)
    services.auth_cache.put(key, principal)
    return principal


async def _authenticate(services: Services, header: str, db_session: AsyncSession) -> Principal:
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    scheme = scheme.lower()
    if scheme == "bearer" and credential:
        if credential.startswith(ACCESS_PREFIX):
            ttl = timedelta(seconds=services.settings.auth.access_token_ttl_seconds)
            return await AccessTokenService(db_session, ttl).authenticate(credential)
        return await TokenService(db_session).authenticate(credential)
    if scheme == "basic" and credential:
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials") from None
        _user, sep, password = decoded.partition(":")
        if not sep or not password:
            raise Unauthorized("Basic credentials must carry a Custody token as the password")
        return await TokenService(db_session).authenticate(password)
    raise Unauthorized("unsupported Authorization scheme (use Bearer or Basic)")


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
