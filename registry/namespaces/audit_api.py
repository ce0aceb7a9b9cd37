"""``/api/v1/audit``: the audit trail, readable by admins.

Here rather than in :mod:`registry.audit`, which every slice (auth included) writes to:
reading it needs the caller's rights.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from registry.audit.queries import list_events
from registry.audit.schemas import AuditEventView, AuditPage
from registry.auth import Scope
from registry.auth.deps import Caller
from registry.http.deps import DbSession
from registry.http.openapi import TOKEN, problems
from registry.http.params import After, LongPageSize
from registry.naming import validate_namespace


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
) -> AuditPage:
    """Namespace admins read their namespace's events; site admins read everything.

    Filters: ``action`` and ``actor`` (exact), ``since`` (ISO 8601; UTC when no offset)."""
    if namespace is None:
        principal.require_site_admin()
    else:
        validate_namespace(namespace)
        principal.require(namespace, Scope.ADMIN)
    events = await list_events(
        db_session,
        namespace=namespace,
        after_id=after,
        limit=limit,
        action=action,
        actor=actor,
        since=since if since is None or since.tzinfo else since.replace(tzinfo=UTC),
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
