"""The one read the pages need that no API handler makes: the namespaces a caller may browse.

It lists what ``GET /api/v1/models`` already shows, grouped: the namespaces the caller
may pull from (:func:`registry.lifecycle.queries.visible_namespaces`) with their model
counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import Principal
from registry.db.models import Namespace, Repository
from registry.lifecycle.queries import visible_namespaces

__all__ = ["NamespaceRow", "browsable_namespaces"]


@dataclass(frozen=True, slots=True)
class NamespaceRow:
    name: str
    anonymous_pull: bool
    models: int


async def browsable_namespaces(session: AsyncSession, principal: Principal) -> list[NamespaceRow]:
    """Namespaces ``principal`` may pull from (anonymous ones included), by name."""
    statement = (
        select(Namespace.name, Namespace.anonymous_pull, func.count(Repository.id))
        .outerjoin(Repository, Repository.namespace_id == Namespace.id)
        .group_by(Namespace.id, Namespace.name, Namespace.anonymous_pull)
        .order_by(Namespace.name)
    )
    visible = visible_namespaces(principal)
    if visible is not None:
        statement = statement.where(Namespace.name.in_(visible))
    rows = (await session.execute(statement)).all()
    return [NamespaceRow(name, bool(anonymous), int(count)) for name, anonymous, count in rows]
