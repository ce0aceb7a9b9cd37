"""The TUF slice's SQL: signed metadata versions, the lock that serialises publishers, and
the namespaces waiting for (re)publication.

Every version of every role is kept (clients may ask for any ``N.role.json`` of
a consistent snapshot). ``(role, version)`` is unique, so a version can only be
allocated once across replicas; publishers also take :func:`lock` first, so in
practice they queue instead of failing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from tuf.api.metadata import Metadata

from registry.db.models import (
    Namespace,
    Repository,
    Tag,
    TufMetadata,
    TufPendingNamespace,
    TufPublisherLock,
)
from registry.db.types import utcnow

_LOCK: Table = TufPublisherLock.__table__  # type: ignore[assignment]


async def lock(session: AsyncSession) -> None:
    """Take the publisher lock for the rest of the transaction.

    Must be the transaction's first statement: on PostgreSQL it is a row lock;
    on SQLite the write makes this transaction the only writer, and the reads
    that follow see every commit made before it.
    """
    now = utcnow()
    insert: Any = (
        postgresql.insert(_LOCK)
        if session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(_LOCK)
    )
    await session.execute(
        insert.values(id=1, locked_at=now).on_conflict_do_update(
            index_elements=[_LOCK.c.id], set_={"locked_at": now}
        )
    )


async def latest_row(session: AsyncSession, role: str) -> TufMetadata | None:
    return await session.scalar(
        select(TufMetadata)
        .where(TufMetadata.role == role)
        .order_by(TufMetadata.version.desc())
        .limit(1)
    )


async def latest(session: AsyncSession, role: str) -> Metadata[Any] | None:
    row = await latest_row(session, role)
    return None if row is None else Metadata.from_bytes(row.content)


async def content(session: AsyncSession, role: str, version: int) -> bytes | None:
    found: bytes | None = await session.scalar(
        select(TufMetadata.content).where(TufMetadata.role == role, TufMetadata.version == version)
    )
    return found


async def fingerprints(session: AsyncSession, versions: dict[str, int]) -> dict[str, str | None]:
    """The stored fingerprint of each given (role, version)."""
    if not versions:
        return {}
    rows = await session.execute(
        select(TufMetadata.role, TufMetadata.fingerprint).where(
            tuple_(TufMetadata.role, TufMetadata.version).in_(list(versions.items()))
        )
    )
    return {row.role: row.fingerprint for row in rows}


async def latest_versions(session: AsyncSession) -> dict[str, tuple[int, datetime]]:
    """Each role's newest version and its expiry."""
    newest = (
        select(TufMetadata.role, func.max(TufMetadata.version).label("version"))
        .group_by(TufMetadata.role)
        .subquery()
    )
    rows = await session.execute(
        select(TufMetadata.role, TufMetadata.version, TufMetadata.expires).join(
            newest,
            (newest.c.role == TufMetadata.role) & (newest.c.version == TufMetadata.version),
        )
    )
    return {role: (version, expires) for role, version, expires in rows}


async def append(
    session: AsyncSession, role: str, metadata: Metadata[Any], fingerprint: str | None = None
) -> bytes:
    """Store a newly signed version; returns the exact bytes that will be served."""
    data = metadata.to_bytes()
    session.add(
        TufMetadata(
            role=role,
            version=metadata.signed.version,
            expires=metadata.signed.expires,
            content=data,
            fingerprint=fingerprint,
            created_at=utcnow(),
        )
    )
    await session.flush()
    return data


async def pending_namespaces(session: AsyncSession) -> dict[str, int]:
    """Namespaces marked for republication, with the generation of their latest mark."""
    marks = await session.execute(
        select(TufPendingNamespace.namespace, TufPendingNamespace.generation)
    )
    return {row.namespace: row.generation for row in marks}


async def any_pending(session: AsyncSession) -> bool:
    marked = await session.scalar(select(TufPendingNamespace.namespace).limit(1))
    return marked is not None


async def clear_pending(session: AsyncSession, namespace: str, generation: int) -> None:
    """Clear ``namespace``'s mark unless it was marked again since ``generation`` was read."""
    await session.execute(
        delete(TufPendingNamespace).where(
            TufPendingNamespace.namespace == namespace,
            TufPendingNamespace.generation == generation,
        )
    )


async def namespace_exists(session: AsyncSession, namespace: str) -> bool:
    found = await session.scalar(select(Namespace.id).where(Namespace.name == namespace))
    return found is not None


async def namespaces_with_tags(session: AsyncSession) -> list[str]:
    """Namespaces holding at least one tagged manifest."""
    names = await session.scalars(
        select(Namespace.name)
        .join(Repository, Repository.namespace_id == Namespace.id)
        .join(Tag, Tag.repository_id == Repository.id)
        .distinct()
    )
    return list(names)
