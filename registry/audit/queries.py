"""Reading the audit trail."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import AuditEvent


async def list_events(
    session: AsyncSession,
    *,
    namespace: str | None,
    after_id: int = 0,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """Events in id order (keyset pagination with ``after_id``), optionally filtered
    (``since`` inclusive, ``until`` exclusive)."""
    query = select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id).limit(limit)
    if namespace is not None:
        query = query.where(AuditEvent.namespace == namespace)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    return list((await session.scalars(query)).all())


async def subject_events(
    session: AsyncSession,
    *,
    namespace: str,
    subject_prefix: str,
    actions: Collection[str],
    limit: int = 100,
) -> list[AuditEvent]:
    """The newest ``limit`` events of ``actions`` on subjects starting ``subject_prefix``
    (``acme/model:`` for every alias of a model), newest first."""
    escaped = subject_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.namespace == namespace,
            AuditEvent.action.in_(list(actions)),
            AuditEvent.subject.like(f"{escaped}%", escape="\\"),
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())
