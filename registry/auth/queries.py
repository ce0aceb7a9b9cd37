"""The auth slice's SQL: API tokens, access tokens and the namespace rows auth reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import AccessToken, ApiToken, Namespace
from registry.db.types import utcnow
from registry.db.upsert import insert_ignore


async def api_token(session: AsyncSession, token_id: str) -> ApiToken | None:
    return await session.get(ApiToken, token_id)


async def api_token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    found: ApiToken | None = await session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash)
    )
    return found


async def api_tokens(session: AsyncSession, namespace: str | None) -> list[ApiToken]:
    """Tokens oldest first, of one namespace or all."""
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if namespace is not None:
        query = query.where(ApiToken.namespace == namespace)
    return list((await session.scalars(query)).all())


async def access_token(session: AsyncSession, token_hash: str) -> AccessToken | None:
    return await session.get(AccessToken, token_hash)


async def drop_expired_access_tokens(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(AccessToken).where(AccessToken.expires_at < now))


async def namespace(session: AsyncSession, name: str) -> Namespace | None:
    found: Namespace | None = await session.scalar(select(Namespace).where(Namespace.name == name))
    return found


async def insert_namespace(session: AsyncSession, name: str) -> bool:
    """Insert namespace ``name`` unless it exists; whether this call inserted it."""
    return await insert_ignore(
        session,
        Namespace.__table__,  # type: ignore[arg-type]
        {"name": name, "anonymous_pull": False, "created_at": utcnow()},
    )


async def anonymous_pull(session: AsyncSession, name: str) -> bool | None:
    """Namespace ``name``'s anonymous-pull setting (``None`` if there is no such namespace)."""
    found: bool | None = await session.scalar(
        select(Namespace.anonymous_pull).where(Namespace.name == name)
    )
    return found
