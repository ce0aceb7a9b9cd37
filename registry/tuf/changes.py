"""The OCI store's ``TagsChanged`` hook: a namespace's versions or aliases changed.

It only records the change, in the caller's transaction: if the tag change rolls
back, so does the mark. The publisher turns marks into new metadata later (at the
next ``timestamp.json`` read, or by the CLI), so a push never waits for signing
and two pushes never race for the same snapshot version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import TufPendingNamespace
from registry.db.types import utcnow

_TABLE: Table = TufPendingNamespace.__table__  # type: ignore[assignment]


async def namespace_changed(session: AsyncSession, namespace: str) -> None:
    """Mark ``namespace`` for republication (insert, or bump its generation)."""
    now = utcnow()
    insert: Any = (
        postgresql.insert(_TABLE)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(_TABLE)
    )
    statement = insert.values(namespace=namespace, generation=1, changed_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[_TABLE.c.namespace],
        set_={"generation": _TABLE.c.generation + 1, "changed_at": now},
    )
    await session.execute(statement)


class TufMarks:
    """Registered with the OCI store (:mod:`registry.oci.hooks`) by the application."""

    async def tags_changed(self, session: AsyncSession, namespace: str) -> None:
        await namespace_changed(session, namespace)
