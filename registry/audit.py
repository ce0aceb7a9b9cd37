"""The audit trail: every write records who did what to what, in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import AuditEvent
from registry.db.types import utcnow


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject: str,
    namespace: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the current transaction (committed with the write)."""
    session.add(
        audit_event(actor=actor, action=action, subject=subject, namespace=namespace, detail=detail)
    )


def audit_event(
    *,
    actor: str,
    action: str,
    subject: str,
    namespace: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """An audit event row, for a caller that commits it in a transaction of its own choosing."""
    return AuditEvent(
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        namespace=namespace,
        subject=subject,
        detail=detail or {},
    )


async def list_events(
    session: AsyncSession,
    *,
    namespace: str | None,
    after_id: int = 0,
    limit: int = 100,
    action: str | None = None,
) -> list[AuditEvent]:
    """Events in id order (keyset pagination with ``after_id``)."""
    query = select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id).limit(limit)
    if namespace is not None:
        query = query.where(AuditEvent.namespace == namespace)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list((await session.scalars(query)).all())
