"""``/api/v1/tokens``: namespace admins manage their namespace's tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.auth import Scope, TokenService
from registry.auth.deps import Caller
from registry.auth.principal import ALL_NAMESPACES
from registry.auth.schemas import TokenCreate, TokenIssued, TokenList, TokenView
from registry.auth.tokens import parse_duration
from registry.db.models import ApiToken
from registry.errors import NotFound, Unauthorized
from registry.http.deps import AppServices, AppSettings, DbSession
from registry.http.openapi import TOKEN, problems


def _view(token: ApiToken) -> TokenView:
    return TokenView(
        id=token.id,
        namespace=token.namespace,
        scopes=token.scopes.split(","),
        description=token.description,
        created_by=token.created_by,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
    )


def _require_admin(principal: Caller, namespace: str) -> None:
    if namespace == ALL_NAMESPACES:
        principal.require_site_admin()
    else:
        principal.require(namespace, Scope.ADMIN)


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["tokens"]

    @post(
        "/",
        status_code=201,
        summary="Create a token (the secret is shown once)",
        security=TOKEN,
        responses=problems(400, 401, 403),
    )
    async def create_token(
        self,
        data: JSONBody[TokenCreate],
        principal: Caller,
        db_session: DbSession,
        settings: AppSettings,
    ) -> TokenIssued:
        scopes = Scope.parse_list(",".join(data.scopes))
        _require_admin(principal, data.namespace)
        expires_in = (
            parse_duration(data.expires_in)
            if data.expires_in is not None
            else timedelta(seconds=settings.auth.default_token_ttl_seconds)
        )
        issued = await TokenService(db_session).create(
            namespace=data.namespace,
            scopes=scopes,
            actor=principal.actor,
            expires_in=expires_in,
            description=data.description,
        )
        await db_session.commit()
        return TokenIssued(
            id=issued.id,
            token=issued.secret,
            namespace=issued.namespace,
            scopes=sorted(issued.scopes),
            expires_at=issued.expires_at,
        )

    @get(
        "/",
        summary="List a namespace's tokens (never their secrets)",
        security=TOKEN,
        responses=problems(400, 401, 403),
    )
    async def list_tokens(
        self,
        principal: Caller,
        db_session: DbSession,
        namespace: Annotated[str, QueryParameter(max_length=128)],
    ) -> TokenList:
        _require_admin(principal, namespace)
        tokens = await TokenService(db_session).list(namespace)
        return TokenList(tokens=[_view(t) for t in tokens])

    @get(
        "/self",
        summary="The caller's own token: namespace, scopes, expiry (never the secret)",
        security=TOKEN,
        responses=problems(401, 403),
    )
    async def own_token(self, principal: Caller, db_session: DbSession) -> TokenView:
        """What the presented credential grants, so a client can say why a call was refused."""
        if principal.token_id is None:
            raise Unauthorized("authentication required")
        token = await TokenService(db_session).get(principal.token_id)
        if token is None:  # pragma: no cover - authentication found it a moment ago
            raise NotFound(f"no token with id {principal.token_id!r}")
        return _view(token)

    @delete(
        "/{token_id:str}",
        status_code=204,
        summary="Revoke a token",
        security=TOKEN,
        responses=problems(400, 401, 403, 404),
    )
    async def revoke_token(
        self,
        token_id: FromPath[str],
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
    ) -> None:
        service = TokenService(db_session)
        token = await service.get(token_id)
        if token is None:
            raise NotFound(f"no token with id {token_id!r}")
        if token.id != principal.token_id:  # a token may always revoke itself
            _require_admin(principal, token.namespace)
        await service.revoke(token_id, actor=principal.actor)
        await db_session.commit()
        services.auth_cache.clear()  # revocation is immediate in this process
