"""``GET /auth/token``: the Docker-style token endpoint OCI clients authenticate at."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from litestar import Request, Response, get

from registry.auth import Principal, TokenService
from registry.auth.access import AccessTokenService
from registry.errors import Unauthorized
from registry.http.deps import AppServices, DbSession


@get("/auth/token", include_in_schema=False)
async def issue_token(
    request: Request[Any, Any, Any], db_session: DbSession, services: AppServices
) -> Response[dict[str, Any]]:
    """Basic auth with a Custody token as password, or none for anonymous pull.

    The token grants the intersection of the scopes asked and what the credential
    allows (``*`` asks for every action); ``access`` lists what was granted.
    """
    principal = await _basic_principal(request, db_session)
    scopes = request.query_params.getall("scope", [])
    service = AccessTokenService(
        db_session, timedelta(seconds=services.settings.auth.access_token_ttl_seconds)
    )
    issued = await service.issue(principal, scopes, services.anonymous_pull)
    await db_session.commit()
    return Response(
        {
            "token": issued.token,
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "issued_at": issued.issued_at.isoformat(),
            "access": issued.access,
        },
        headers={"Cache-Control": "no-store"},
    )


async def _basic_principal(request: Request[Any, Any, Any], db_session: DbSession) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        return Principal.anonymous()
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("the token endpoint takes HTTP Basic auth (a Custody token as password)")
    try:
        decoded = base64.b64decode(credential.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed Basic credentials") from None
    _user, _, password = decoded.partition(":")
    if not password:
        raise Unauthorized("Basic credentials must carry a Custody token as the password")
    return await TokenService(db_session).authenticate(password)
