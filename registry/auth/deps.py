"""The caller of a request, as a dependency: ``Caller`` in a handler's signature."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.auth.access import PREFIX as ACCESS_PREFIX
from registry.auth.access import AccessTokenService
from registry.auth.principal import Principal
from registry.auth.tokens import TokenService, hash_token
from registry.cache import TTLCache
from registry.db.types import utcnow
from registry.errors import Unauthorized
from registry.settings import Settings

# The handler parameter type of the app-level ``principal`` dependency, resolved by name.
Caller = NamedDependency[Principal]


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Authenticate from ``Authorization``: a Bearer token, or Basic with it as password.

    A cached credential costs no database session at all (the pull hot path).
    """
    header = request.headers.get("authorization")
    if not header:
        return Principal.anonymous()
    cache: TTLCache[str, Principal] = request.app.state.auth_cache
    key = hash_token(header)
    cached = cache.get(key)
    if cached is not None and (cached.expires_at is None or cached.expires_at > utcnow()):
        return cached
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as db_session:
        principal = await _authenticate(request, header, db_session)
    cache.put(key, principal)
    return principal


async def _authenticate(
    request: Request[Any, Any, Any], header: str, db_session: AsyncSession
) -> Principal:
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    scheme = scheme.lower()
    if scheme == "bearer" and credential:
        if credential.startswith(ACCESS_PREFIX):
            settings: Settings = request.app.state.settings
            ttl = timedelta(seconds=settings.access_token_ttl_seconds)
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
