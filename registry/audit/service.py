"""The audit trail: every write records who did what to what, in the same transaction.

A refusal leaves evidence too, through one mechanism, :func:`refuse`: it rolls
back the refused change on the request's own session, writes the refusal's event
on that same session and commits it, then raises the refusal. Never a second
session: SQLite allows one writer, and an audit row written through another
connection while the request's transaction holds the write lock (re-verified
signature verdicts, a just-stored manifest) waits for the busy timeout and fails.

Another writer (the transparency log's, a TUF publication) can still hold the
lock for longer than the busy timeout: the event's write is retried a few times,
then the refusal is answered 503 (:class:`registry.errors.RefusalNotAudited`,
logged CRITICAL and counted in ``custody_refusals_unaudited_total``), never 500
and never as a refusal without its evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, NoReturn

from sqlalchemy import Table, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import AuditEvent
from registry.db.types import utcnow
from registry.errors import RefusalNotAudited

log = logging.getLogger("registry.audit")

#: Pauses between attempts to write a refusal's event (each attempt may also wait for
#: SQLite's busy timeout or PostgreSQL's lock timeout): bounded, a few attempts in all.
REFUSAL_RETRY_PAUSES = (0.05, 0.25)


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
        AuditEvent(
            **_values(
                actor=actor, action=action, subject=subject, namespace=namespace, detail=detail
            )
        )
    )


async def record_many(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Add many audit events (each the keyword arguments of :func:`record`) in one statement,
    to the current transaction: for bulk writers such as the garbage collector."""
    if events:
        await session.execute(insert(AuditEvent), [_values(**event) for event in events])


async def refuse(
    session: AsyncSession,
    error: Exception,
    *,
    actor: str,
    action: str,
    subject: str,
    namespace: str | None = None,
    detail: dict[str, Any] | None = None,
) -> NoReturn:
    """Roll back ``session``, commit the refusal's audit event on it, and raise ``error``.

    Whatever the refused request wrote is discarded (nothing half-stored); the
    event is written, not merely attempted: a failed write is retried after each
    of :data:`REFUSAL_RETRY_PAUSES`, and if it still fails,
    :class:`RefusalNotAudited` (503, carrying the refusal's reason) is raised
    instead of a refusal without evidence.
    """
    failure: SQLAlchemyError | None = None
    for pause in (*REFUSAL_RETRY_PAUSES, None):
        try:
            await session.rollback()
            await record(
                session,
                actor=actor,
                action=action,
                subject=subject,
                namespace=namespace,
                detail=detail,
            )
            await session.commit()
        except SQLAlchemyError as exc:
            failure = exc
            if pause is not None:
                await asyncio.sleep(pause)
            continue
        raise error
    with contextlib.suppress(SQLAlchemyError):  # leave the session clean for its closer
        await session.rollback()
    log.critical(
        "refusal %s of %s could not be audited after %d attempts: %s; answering 503",
        action,
        subject,
        len(REFUSAL_RETRY_PAUSES) + 1,
        failure,
    )
    raise RefusalNotAudited(error, action=action) from failure


def audit_row(
    *,
    actor: str,
    action: str,
    subject: str,
    namespace: str | None = None,
    detail: dict[str, Any] | None = None,
) -> tuple[Table, dict[str, Any]]:
    """An audit event as ``(table, values)``, for a writer that inserts it in its own Core
    transaction (the transparency log's, see ``registry.tlog``)."""
    table: Table = AuditEvent.__table__  # type: ignore[assignment]
    return table, _values(
        actor=actor, action=action, subject=subject, namespace=namespace, detail=detail
    )


def _values(
    *, actor: str, action: str, subject: str, namespace: str | None, detail: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "occurred_at": utcnow(),
        "actor": actor,
        "action": action,
        "namespace": namespace,
        "subject": subject,
        "detail": detail or {},
    }
