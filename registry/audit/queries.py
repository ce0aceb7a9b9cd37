"""Reading the audit trail."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import AuditEvent


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a reader asked for (``since`` inclusive, ``until`` exclusive)."""

    namespace: str | None = None
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.namespace is not None:
            query = query.where(AuditEvent.namespace == self.namespace)
        if self.action is not None:
            query = query.where(AuditEvent.action == self.action)
        if self.actor is not None:
            query = query.where(AuditEvent.actor == self.actor)
        if self.since is not None:
            query = query.where(AuditEvent.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(AuditEvent.occurred_at < self.until)
        return query


async def list_events(
    session: AsyncSession,
    *,
    namespace: str | None,
    after_id: int = 0,
    before_id: int | None = None,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """Events in id order, optionally filtered (``since`` inclusive, ``until`` exclusive).

    Keyset pagination both ways: the first ``limit`` events with an id above ``after_id``;
    or, with ``before_id``, the last ``limit`` below it (still returned in id order)."""
    found = EventFilter(namespace, action, actor, since, until)
    query = found.apply(select(AuditEvent).where(AuditEvent.id > after_id))
    if before_id is None:
        return list((await session.scalars(query.order_by(AuditEvent.id).limit(limit))).all())
    query = query.where(AuditEvent.id < before_id).order_by(AuditEvent.id.desc()).limit(limit)
    return list(reversed((await session.scalars(query)).all()))


async def any_event(
    session: AsyncSession, found: EventFilter, *, above: int | None = None, below: int | None = None
) -> bool:
    """Whether an event passing ``found`` has an id above ``above`` or below ``below``
    (whichever is given): is there a next (or previous) page."""
    query = found.apply(select(AuditEvent.id))
    if above is not None:
        query = query.where(AuditEvent.id > above)
    if below is not None:
        query = query.where(AuditEvent.id < below)
    return await session.scalar(query.limit(1)) is not None


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
