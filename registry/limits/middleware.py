"""The ASGI middleware that settles who is asking, then counts the request.

It authenticates a request that carries ``Authorization`` itself (from the credentials
cache when it can, so the pull hot path costs no database query) and leaves the outcome
in the scope for :func:`registry.auth.deps.provide_principal`, so a request is
authenticated once. Then it hits one counter: the API token's, or the address's when
there is no valid token. A credential that fails is counted against its address; an
address blocked for failing too often gets 429 before any credential it sends is looked
up (a credential already verified and cached still passes: it costs nothing to check).
Refusals are answered here, as :func:`registry.http.text.refuse_invalid_text` does, so
the metrics middleware outside sees the 429 that is sent.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from registry.auth import Principal
from registry.auth.deps import SETTLED, authenticate, cached_principal
from registry.errors import RegistryError, Unauthorized
from registry.http.problems import handle_registry_error
from registry.services import services_of

_AUTHORIZATION = b"authorization"


def client_address(scope: Scope) -> str:
    """The ASGI client's host (set from ``X-Forwarded-For`` only by a trusting server)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def rate_limited(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: authenticate once, then apply the per-request rate limits."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        try:
            await _admit(scope)
        except RegistryError as exc:  # TooManyRequests, LimitStoreUnavailable
            request: Request[Any, Any, Any] = Request(scope, receive, send)
            response = handle_registry_error(request, exc)
            await response.to_asgi_response(None, request)(scope, receive, send)
            return
        await app(scope, receive, send)

    return limited


async def _admit(scope: Scope) -> None:
    services = services_of(scope["litestar_app"])
    limits = services.limits
    address = client_address(scope)
    header = next((v for k, v in scope["headers"] if k == _AUTHORIZATION), None)
    principal: Principal | None = None
    if header:
        text = header.decode("latin-1")
        principal = cached_principal(services, text)
        if principal is None:
            # An unverified credential costs a database lookup: none from a blocked address.
            await limits.refuse_if_blocked(address)
            try:
                principal = await authenticate(services, text)
            except Unauthorized as exc:
                cast("dict[str, Any]", scope)[SETTLED] = exc
                await limits.auth_failed(address)
        if principal is not None:
            cast("dict[str, Any]", scope)[SETTLED] = principal
    token_id = principal.token_id if principal is not None else None
    method = cast("HTTPScope", scope)["method"]
    await limits.admit(method, token_id=token_id, address=address)
