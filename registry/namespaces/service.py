"""Namespace settings without HTTP: find a namespace, change its anonymous-pull setting
and its storage quota, read and recount its usage."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import record
from registry.db.models import Namespace
from registry.errors import InvalidInput, NotFound
from registry.naming import validate_namespace
from registry.oci import usage
from registry.oci.queries import find_namespace
from registry.oci.quota import NamespaceUsage, usage_of
from registry.sizes import MAX_BYTES

__all__ = [
    "namespace_named",
    "namespace_usage",
    "recount_usage",
    "set_anonymous_pull",
    "set_quota",
]


async def namespace_named(session: AsyncSession, name: str) -> Namespace:
    """The namespace ``name`` (400 if the name is malformed, 404 if it does not exist)."""
    validate_namespace(name)
    namespace = await find_namespace(session, name)
    if namespace is None:
        raise NotFound(f"namespace {name!r} does not exist")
    return namespace


async def namespace_usage(session: AsyncSession, namespace: Namespace) -> NamespaceUsage:
    """What ``namespace`` stores now, and its quota (see :mod:`registry.oci.quota`)."""
    return await usage_of(session, namespace)


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


async def set_quota(
    session: AsyncSession, namespace: Namespace, quota_bytes: int | None, *, actor: str
) -> None:
    """Set ``namespace``'s storage quota in bytes (``None``: unlimited), audited (not
    committed). A quota below the current usage is allowed: the namespace then takes
    nothing new until it is back under it."""
    if quota_bytes is not None and not 0 <= quota_bytes <= MAX_BYTES:
        raise InvalidInput(f"a quota is 0 to {MAX_BYTES} bytes, not {quota_bytes}")
    if namespace.quota_bytes == quota_bytes:
        return
    previous = namespace.quota_bytes
    namespace.quota_bytes = quota_bytes
    await record(
        session,
        actor=actor,
        action="namespace.quota",
        subject=f"namespace:{namespace.name}",
        namespace=namespace.name,
        detail={"quota_bytes": quota_bytes, "previous": previous},
    )


async def recount_usage(session: AsyncSession, namespace: Namespace, *, actor: str) -> int:
    """Recompute ``namespace``'s usage counter from its rows (not committed); return the
    drift repaired (bytes the counter was off by, signed). A drift is audited
    (``namespace.usage.recount``): the counter is changed with every write, so drift
    means a write made outside Custody (a restored backup, a hand edit)."""
    before, after = await usage.recount(session, namespace.id)
    if before != after:
        await record(
            session,
            actor=actor,
            action="namespace.usage.recount",
            subject=f"namespace:{namespace.name}",
            namespace=namespace.name,
            detail={"counted_bytes": before, "used_bytes": after},
        )
    return before - after
