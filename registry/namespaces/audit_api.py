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

from registry.audit.queries import EventFilter, any_event, list_events
from registry.audit.schemas import AuditEventView, AuditPage
from registry.auth import Principal, Scope
from registry.auth.deps import Caller
from registry.http.deps import DbSession
from registry.http.openapi import TOKEN, problems
from registry.http.params import MAX_INT64, After, Before, LongPageSize
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
    before: Before = None,
    limit: LongPageSize = 100,
    action: Annotated[str | None, QueryParameter(max_length=64)] = None,
    actor: Annotated[str | None, QueryParameter(max_length=255)] = None,
    since: Annotated[datetime | None, QueryParameter()] = None,
    until: Annotated[datetime | None, QueryParameter()] = None,
) -> AuditPage:
    """Namespace admins read their namespace's events; site admins read everything.

    Filters: ``action`` and ``actor`` (exact), ``since`` and ``until`` (ISO 8601, UTC
    when no offset; ``until`` exclusive). Oldest first, paged by id both ways: ``after``
    (the answer's ``next_after``) for the next page, ``before`` (its ``prev_before``) for the
    previous one; ``before=9223372036854775807`` is the newest page."""
    return await audit_page(
        principal,
        db_session,
        namespace=namespace,
        after=after,
        before=before,
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
    before: int | None = None,
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
    found = EventFilter(namespace, action, actor, _utc(since), _utc(until))
    events = await list_events(
        session,
        namespace=found.namespace,
        after_id=after,
        before_id=before,
        limit=limit,
        action=found.action,
        actor=found.actor,
        since=found.since,
        until=found.until,
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
    next_after, prev_before = await _cursors(session, found, views, after, before)
    return AuditPage(events=views, next_after=next_after, prev_before=prev_before)


async def _cursors(
    session: AsyncSession,
    found: EventFilter,
    views: list[AuditEventView],
    after: int,
    before: int | None,
) -> tuple[int | None, int | None]:
    """``next_after`` and ``prev_before``: each set only when that page has an event, so a
    reader never follows a link to an empty page (an empty page's cursors lead back to
    the events on either side of the window it asked for)."""
    upper = views[-1].id if views else (before - 1 if before is not None else after)
    lower = views[0].id if views else min(after + 1, MAX_INT64)
    next_after = upper if await any_event(session, found, above=upper) else None
    prev_before = lower if await any_event(session, found, below=lower) else None
    return next_after, prev_before
