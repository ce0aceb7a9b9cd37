"""The caller of a request, as a dependency: ``Caller`` in a handler's signature."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any, cast

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth.access import PREFIX as ACCESS_PREFIX
from registry.auth.access import AccessTokenService
from registry.auth.principal import Principal
from registry.auth.tokens import TokenService, hash_token
from registry.db.types import utcnow
from registry.errors import Unauthorized
from registry.services import Services, services_of

# The handler parameter type of the app-level ``principal`` dependency, resolved by name.
Caller = NamedDependency[Principal]

#: Where a middleware that authenticated first (registry.limits) leaves the outcome in the
#: ASGI scope: the :class:`Principal`, or the :class:`Unauthorized` the credential earned.
SETTLED = "custody.principal"


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Authenticate from ``Authorization``: a Bearer token, or Basic with it as password.

    A cached credential costs no database session at all (the pull hot path).
    """
    settled = cast("dict[str, Any]", request.scope).get(SETTLED)
    if isinstance(settled, Principal):
        return settled
    if isinstance(settled, Unauthorized):
        raise settled
    header = request.headers.get("authorization")
    if not header:
        return Principal.anonymous()
    return await principal_for(services_of(request.app), header)


async def principal_for(services: Services, header: str) -> Principal:
    """The caller an ``Authorization`` header value names, through the app's credential cache.

    The web pages (:mod:`registry.web`) call it with their session cookie's token as a
    Bearer header, so a page and the API decide the same caller the same way.
    """
    return cached_principal(services, header) or await authenticate(services, header)


def cached_principal(services: Services, header: str) -> Principal | None:
    """The principal of an ``Authorization`` value verified recently, if still valid."""
    cached = services.auth_cache.get(hash_token(header))
    if cached is not None and (cached.expires_at is None or cached.expires_at > utcnow()):
        return cached
    return None


async def authenticate(services: Services, header: str) -> Principal:
    """Check an ``Authorization`` value against the database and cache the principal."""
    async with services.sessionmaker() as db_session:
        principal = await _authenticate(services, header, db_session)
    services.auth_cache.put(hash_token(header), principal)
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
