"""``/api/v1/audit``: the audit trail, readable by admins.

Here rather than in :mod:`registry.audit`, which every slice (auth included) writes to:
reading it needs the caller's rights.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import get
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.queries import list_events
from registry.audit.schemas import AuditEventView, AuditPage
from registry.auth import Principal, Scope
from registry.auth.deps import Caller
from registry.http.deps import DbSession
from registry.http.openapi import TOKEN, problems
from registry.http.params import After, LongPageSize
from registry.naming import validate_namespace


def _utc(moment: datetime | None) -> datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


@get(
    "/api/v1/audit",
    tags=["audit"],
    summary="Read the audit trail",
    security=TOKEN,
    responses=problems(400, 401, 403),
)
async def read_audit(
    principal: Caller,
    db_session: DbSession,
    namespace: Annotated[str | None, QueryParameter(max_length=128)] = None,
    after: After = 0,
    limit: LongPageSize = 100,
    action: Annotated[str | None, QueryParameter(max_length=64)] = None,
    actor: Annotated[str | None, QueryParameter(max_length=255)] = None,
    since: Annotated[datetime | None, QueryParameter()] = None,
    until: Annotated[datetime | None, QueryParameter()] = None,
) -> AuditPage:
    """Namespace admins read their namespace's events; site admins read everything.

    Filters: ``action`` and ``actor`` (exact), ``since`` and ``until`` (ISO 8601, UTC
    when no offset; ``until`` exclusive)."""
    return await audit_page(
        principal,
        db_session,
        namespace=namespace,
        after=after,
        limit=limit,
        action=action,
        actor=actor,
        since=since,
        until=until,
    )


async def audit_page(
    principal: Principal,
    session: AsyncSession,
    *,
    namespace: str | None,
    after: int = 0,
    limit: int = 100,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditPage:
    """One page of the trail with the API's rights (the pages call this too): a namespace's
    events for its admins, every event (``namespace=None``) for site admins only."""
    if namespace is None:
        principal.require_site_admin()
    else:
        validate_namespace(namespace)
        principal.require(namespace, Scope.ADMIN)
    events = await list_events(
        session,
        namespace=namespace,
        after_id=after,
        limit=limit,
        action=action,
        actor=actor,
        since=_utc(since),
        until=_utc(until),
    )
    views = [
        AuditEventView(
            id=e.id,
            occurred_at=e.occurred_at,
            actor=e.actor,
            action=e.action,
            namespace=e.namespace,
            subject=e.subject,
            detail=e.detail,
        )
        for e in events
    ]
    next_after = views[-1].id if len(views) == limit else None
    return AuditPage(events=views, next_after=next_after)
