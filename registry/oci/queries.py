"""Repositories and the blobs linked into them (SQL side of the OCI store)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import record
from registry.auth.tokens import ensure_namespace
from registry.db.models import Blob, Namespace, Repository, RepositoryBlob
from registry.db.types import utcnow
from registry.db.upsert import insert_ignore
from registry.naming import RepositoryName


async def find_namespace(session: AsyncSession, name: str) -> Namespace | None:
    return await session.scalar(select(Namespace).where(Namespace.name == name))


async def find_repository(session: AsyncSession, name: RepositoryName) -> Repository | None:
    return await session.scalar(select(Repository).where(Repository.name == name.full))


async def ensure_repository(
    session: AsyncSession, name: RepositoryName, *, actor: str
) -> Repository:
    repository = await find_repository(session, name)
    if repository is not None:
        return repository
    namespace = await ensure_namespace(session, name.namespace, actor=actor)
    created = await insert_ignore(
        session,
        Repository.__table__,  # type: ignore[arg-type]
        {"namespace_id": namespace.id, "name": name.full, "created_at": utcnow()},
    )
    repository = await find_repository(session, name)
    if repository is None:  # pragma: no cover - inserted, or another transaction did
        raise RuntimeError("repository vanished after insert")
    if not created:  # a concurrent first push created it: that one audits
        return repository
    await record(
        session,
        actor=actor,
        action="repository.create",
        subject=f"repository:{name}",
        namespace=name.namespace,
    )
    return repository


async def link_blob(session: AsyncSession, repository: Repository, digest: str, size: int) -> None:
    now = utcnow()
    await insert_ignore(
        session,
        Blob.__table__,  # type: ignore[arg-type]
        {"digest": digest, "size": size, "created_at": now},
    )
    await insert_ignore(
        session,
        RepositoryBlob.__table__,  # type: ignore[arg-type]
        {"repository_id": repository.id, "blob_digest": digest, "created_at": now},
    )


async def linked_blob(session: AsyncSession, name: RepositoryName, digest: str) -> Blob | None:
    """The blob if it is visible in the repository."""
    return await session.scalar(
        select(Blob)
        .join(RepositoryBlob, RepositoryBlob.blob_digest == Blob.digest)
        .join(Repository, Repository.id == RepositoryBlob.repository_id)
        .where(Repository.name == name.full, Blob.digest == digest)
    )
