"""Namespace settings without HTTP: find a namespace, change its anonymous-pull setting."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import record
from registry.db.models import Namespace
from registry.errors import NotFound
from registry.naming import validate_namespace
from registry.oci.queries import find_namespace

__all__ = ["namespace_named", "set_anonymous_pull"]


async def namespace_named(session: AsyncSession, name: str) -> Namespace:
    """The namespace ``name`` (400 if the name is malformed, 404 if it does not exist)."""
    validate_namespace(name)
    namespace = await find_namespace(session, name)
    if namespace is None:
        raise NotFound(f"namespace {name!r} does not exist")
    return namespace


async def set_anonymous_pull(
    session: AsyncSession, namespace: Namespace, anonymous_pull: bool, *, actor: str
) -> None:
    """Change whether anyone may pull from ``namespace``, audited (not committed)."""
    if namespace.anonymous_pull == anonymous_pull:
        return
    namespace.anonymous_pull = anonymous_pull
    await record(
        session,
        actor=actor,
        action="namespace.update",
        subject=f"namespace:{namespace.name}",
        namespace=namespace.name,
        detail={"anonymous_pull": anonymous_pull},
    )
