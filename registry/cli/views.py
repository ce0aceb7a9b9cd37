"""What ``custody token list`` and ``custody namespace list|show`` read from the database.

Each function returns plain JSON-ready dictionaries (``--json`` prints them as
they are) and :func:`render` turns them into the lines a person reads. Token
secrets are never stored, so they can never be listed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import TokenService
from registry.db.models import ApiToken, Namespace, Repository
from registry.db.types import utcnow
from registry.errors import NotFound
from registry.naming import validate_namespace
from registry.oci.quota import usage_by_namespace, usage_of
from registry.sizes import format_size

__all__ = ["namespace_detail", "namespace_rows", "render_storage", "render_tokens", "token_rows"]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _status(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


async def token_rows(
    session: AsyncSession, namespace: str | None, *, include_inactive: bool
) -> list[dict[str, Any]]:
    """Tokens (of one namespace, or all), oldest first; revoked and expired ones on request."""
    now = utcnow()
    rows = []
    for token in await TokenService(session).list(namespace):
        status = _status(token, now)
        if status != "active" and not include_inactive:
            continue
        rows.append(
            {
                "id": token.id,
                "namespace": token.namespace,
                "scopes": token.scopes.split(","),
                "status": status,
                "description": token.description,
                "created_by": token.created_by,
                "created_at": _iso(token.created_at),
                "expires_at": _iso(token.expires_at),
                "revoked_at": _iso(token.revoked_at),
            }
        )
    return rows


def _short(iso: str | None) -> str:
    return f"{iso[:19]}Z" if iso else "never"


def render_tokens(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["no tokens"]
    return [
        f"{r['id']}  {r['namespace']}  {','.join(r['scopes'])}  {r['status']}  "
        f"expires {_short(r['expires_at'])}  by {r['created_by']}"
        + (f"  ({r['description']})" if r["description"] else "")
        for r in rows
    ]


def render_storage(used_bytes: int, quota_bytes: int | None) -> str:
    """``1.2 GiB of 10.0 GiB (12%)``, or ``1.2 GiB (no quota)``."""
    if quota_bytes is None:
        return f"{format_size(used_bytes)} (no quota)"
    share = f" ({used_bytes * 100 // quota_bytes}%)" if quota_bytes else ""
    return f"{format_size(used_bytes)} of {format_size(quota_bytes)}{share}"


async def _counts(session: AsyncSession) -> tuple[dict[int, int], dict[str, int]]:
    models = dict(
        (
            await session.execute(
                select(Repository.namespace_id, func.count()).group_by(Repository.namespace_id)
            )
        ).all()
    )
    now = utcnow()
    active = (
        select(ApiToken.namespace, func.count())
        .where(ApiToken.revoked_at.is_(None))
        .where((ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
        .group_by(ApiToken.namespace)
    )
    tokens = dict((await session.execute(active)).all())
    return models, tokens


async def namespace_rows(session: AsyncSession) -> list[dict[str, Any]]:
    """Every namespace with its model and active-token counts."""
    models, tokens = await _counts(session)
    usage = {u.namespace: u.used_bytes for u in await usage_by_namespace(session)}
    return [
        {
            "name": ns.name,
            "anonymous_pull": ns.anonymous_pull,
            "created_at": _iso(ns.created_at),
            "models": models.get(ns.id, 0),
            "active_tokens": tokens.get(ns.name, 0),
            "quota_bytes": ns.quota_bytes,
            "used_bytes": usage.get(ns.name, 0),
        }
        for ns in await session.scalars(select(Namespace).order_by(Namespace.name))
    ]


async def namespace_detail(session: AsyncSession, name: str) -> dict[str, Any]:
    """One namespace: its settings, its models, its active tokens (never their secrets)."""
    validate_namespace(name)
    namespace = await session.scalar(select(Namespace).where(Namespace.name == name))
    if namespace is None:
        raise NotFound(f"namespace {name!r} does not exist")
    repositories = await session.scalars(
        select(Repository.name)
        .where(Repository.namespace_id == namespace.id)
        .order_by(Repository.name)
    )
    return {
        "name": namespace.name,
        "anonymous_pull": namespace.anonymous_pull,
        "created_at": _iso(namespace.created_at),
        "models": list(repositories),
        "tokens": await token_rows(session, name, include_inactive=False),
        "quota_bytes": namespace.quota_bytes,
        "used_bytes": (await usage_of(session, namespace)).used_bytes,
    }
