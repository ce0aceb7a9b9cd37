"""The OCI store's SQL: repositories and the blobs linked into them, lookups of manifests,
tags and referrers, and the repository lock (the rules over them are in
:mod:`registry.oci.service`)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.audit.service import record
from registry.auth.tokens import ensure_namespace
from registry.db.models import (
    Blob,
    Manifest,
    ManifestReference,
    Namespace,
    Repository,
    RepositoryBlob,
    Tag,
    UploadSession,
)
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


async def link_blob(session: AsyncSession, repository: Repository, digest: str, size: int) -> bool:
    """Link blob ``digest`` into ``repository``; ``True`` if its ``blobs`` row is new."""
    now = utcnow()
    created = await insert_ignore(
        session,
        Blob.__table__,  # type: ignore[arg-type]
        {"digest": digest, "size": size, "created_at": now},
    )
    await insert_ignore(
        session,
        RepositoryBlob.__table__,  # type: ignore[arg-type]
        {"repository_id": repository.id, "blob_digest": digest, "created_at": now},
    )
    # The bytes are in the store again (just stored and verified): lift an fsck mark.
    await session.execute(
        update(Blob)
        .where(Blob.digest == digest, Blob.missing_since.is_not(None))
        .values(missing_since=None)
    )
    return created


async def blob_size(session: AsyncSession, digest: str) -> int | None:
    return await session.scalar(select(Blob.size).where(Blob.digest == digest))


async def linked_blob(session: AsyncSession, name: RepositoryName, digest: str) -> Blob | None:
    """The blob if it is visible in the repository (and not marked lost by ``fsck --repair``)."""
    return await session.scalar(
        select(Blob)
        .join(RepositoryBlob, RepositoryBlob.blob_digest == Blob.digest)
        .join(Repository, Repository.id == RepositoryBlob.repository_id)
        .where(Repository.name == name.full, Blob.digest == digest, Blob.missing_since.is_(None))
    )


async def lock_repository(session: AsyncSession, repository: Repository) -> None:
    """Serialise the writes that check references in ``repository``, until the transaction ends.

    An index PUT checks that its children exist, and a delete checks that no index
    lists what it deletes; without a shared lock both checks pass under PostgreSQL's
    READ COMMITTED and both commit (an index naming a missing manifest). PostgreSQL:
    a row lock on the repository (``FOR NO KEY UPDATE``: other transactions may still
    insert rows referencing it); statements after it see every commit made before.
    SQLite: a write to the row makes this transaction the only writer (as
    ``registry.tuf.queries.lock`` does), and the reads after it see every earlier commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(Repository.id)
            .where(Repository.id == repository.id)
            .with_for_update(key_share=True)
        )
        return
    await session.execute(
        update(Repository)
        .where(Repository.id == repository.id)
        .values(id=Repository.id)
        .execution_options(synchronize_session=False)
    )


def digest_lock_key(digest: str) -> int:
    """A signed 64-bit advisory-lock key for ``digest`` (its first 16 hex digits)."""
    value = int(digest.removeprefix("sha256:")[:16], 16)
    return value - (1 << 64) if value >= 1 << 63 else value


async def lock_digest(session: AsyncSession, digest: str) -> None:
    """Serialise, until the transaction ends, everything that links or removes blob ``digest``
    in the store and the database (an upload finishing, the garbage collector removing it).

    PostgreSQL: a transaction-scoped advisory lock on the digest
    (``pg_advisory_xact_lock``); statements after it see every commit made before.
    SQLite: a write to the ``blobs`` table (matching a row or not) makes this
    transaction the database's only writer, which also serialises every other write.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(digest_lock_key(digest))))
        return
    await session.execute(
        update(Blob)
        .where(Blob.digest == digest)
        .values(size=Blob.size)
        .execution_options(synchronize_session=False)
    )


async def manifest_reference_digests(
    session: AsyncSession, manifest_id: int
) -> list[tuple[str, str]]:
    """(role, digest) of every descriptor manifest ``manifest_id`` holds."""
    rows = await session.execute(
        select(ManifestReference.role, ManifestReference.digest).where(
            ManifestReference.manifest_id == manifest_id
        )
    )
    return [(role, digest) for role, digest in rows]


async def referrer_digests(session: AsyncSession, repository_id: int, subject: str) -> list[str]:
    """Digests of the manifests in repository ``repository_id`` whose subject is ``subject``."""
    return list(
        (
            await session.scalars(
                select(Manifest.digest).where(
                    Manifest.repository_id == repository_id, Manifest.subject_digest == subject
                )
            )
        ).all()
    )


async def find_manifest_by_digest(
    session: AsyncSession, repository: Repository, digest: str
) -> Manifest | None:
    return await session.scalar(
        select(Manifest).where(Manifest.repository_id == repository.id, Manifest.digest == digest)
    )


async def manifest_by_name_and_tag(
    session: AsyncSession, repository: str, tag: str
) -> Manifest | None:
    return await session.scalar(
        select(Manifest)
        .join(Tag, Tag.manifest_id == Manifest.id)
        .join(Repository, Repository.id == Tag.repository_id)
        .where(Repository.name == repository, Tag.name == tag)
    )


async def manifest_by_name_and_digest(
    session: AsyncSession, repository: str, digest: str
) -> Manifest | None:
    return await session.scalar(
        select(Manifest)
        .join(Repository, Repository.id == Manifest.repository_id)
        .where(Repository.name == repository, Manifest.digest == digest)
    )


async def find_tag(session: AsyncSession, repository: Repository, name: str) -> Tag | None:
    return await session.scalar(
        select(Tag)
        .options(selectinload(Tag.manifest))
        .where(Tag.repository_id == repository.id, Tag.name == name)
    )


async def version_files(session: AsyncSession, manifest: Manifest) -> list[tuple[str, str]]:
    """(file name, sha256 hex) of a version's layers, from their title annotations."""
    rows = (
        await session.scalars(
            select(ManifestReference)
            .where(ManifestReference.manifest_id == manifest.id, ManifestReference.role == "layer")
            .order_by(ManifestReference.position)
        )
    ).all()
    return [(r.title or r.digest, r.digest.removeprefix("sha256:")) for r in rows]


async def list_tags(
    session: AsyncSession, repository: Repository, *, limit: int | None, last: str | None
) -> list[str]:
    query = select(Tag.name).where(Tag.repository_id == repository.id).order_by(Tag.name)
    if last:
        query = query.where(Tag.name > last)
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


async def referrers(
    session: AsyncSession, repository: Repository, subject: str, artifact_type: str | None
) -> list[Manifest]:
    query = (
        select(Manifest)
        .where(Manifest.repository_id == repository.id, Manifest.subject_digest == subject)
        .order_by(Manifest.id)
    )
    if artifact_type is not None:
        query = query.where(Manifest.artifact_type == artifact_type)
    return list((await session.scalars(query)).all())


async def blob_link(
    session: AsyncSession, repository: Repository, digest: str
) -> RepositoryBlob | None:
    return await session.get(RepositoryBlob, (repository.id, digest))


async def manifest_using_blob(
    session: AsyncSession, repository: Repository, digest: str
) -> str | None:
    """The digest of a manifest in ``repository`` that references blob ``digest``, if any."""
    return await session.scalar(
        select(Manifest.digest)
        .join(ManifestReference, ManifestReference.manifest_id == Manifest.id)
        .where(Manifest.repository_id == repository.id, ManifestReference.digest == digest)
        .limit(1)
    )


async def upload_session(session: AsyncSession, upload_id: str) -> UploadSession | None:
    return await session.get(UploadSession, upload_id)


async def drop_upload_session(session: AsyncSession, row: UploadSession) -> None:
    await session.delete(row)


def add_upload_session(
    session: AsyncSession, upload_id: str, repository: Repository, *, actor: str
) -> None:
    session.add(
        UploadSession(
            id=upload_id,
            repository_id=repository.id,
            created_by=actor,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
    )


async def linked_blob_size(
    session: AsyncSession, repository: Repository, digest: str
) -> int | None:
    """The size of blob ``digest`` if it is linked into ``repository`` (and not marked lost).

    On PostgreSQL the blob's row is share-locked (``FOR KEY SHARE``) until the
    transaction ends: the garbage collector, which locks the row ``FOR UPDATE``
    before it re-checks references, cannot remove a blob a manifest PUT has seen
    until that PUT commits (and then sees its references). SQLite ignores the clause:
    there, the PUT is already the only writer (``lock_repository``).
    """
    return await session.scalar(
        select(Blob.size)
        .join(RepositoryBlob, RepositoryBlob.blob_digest == Blob.digest)
        .where(
            RepositoryBlob.repository_id == repository.id,
            Blob.digest == digest,
            Blob.missing_since.is_(None),
        )
        .with_for_update(read=True, key_share=True, of=Blob)
    )


async def manifest_exists(session: AsyncSession, manifest_id: int) -> bool:
    return await session.scalar(select(Manifest.id).where(Manifest.id == manifest_id)) is not None


async def tags_on(session: AsyncSession, manifest: Manifest) -> list[Tag]:
    return list(
        (
            await session.scalars(
                select(Tag)
                .options(selectinload(Tag.manifest))
                .where(Tag.manifest_id == manifest.id)
            )
        ).all()
    )


async def index_listing(session: AsyncSession, repository: Repository, digest: str) -> str | None:
    """The digest of an index in ``repository`` that lists manifest ``digest``, if any."""
    return await session.scalar(
        select(Manifest.digest)
        .join(ManifestReference, ManifestReference.manifest_id == Manifest.id)
        .where(
            Manifest.repository_id == repository.id,
            ManifestReference.role == "manifest",
            ManifestReference.digest == digest,
        )
        .limit(1)
    )


async def version_named_on(
    session: AsyncSession, repository: Repository, digest: str
) -> str | None:
    """A version tag on manifest ``digest`` of ``repository``, if any."""
    return await session.scalar(
        select(Tag.name)
        .join(Manifest, Manifest.id == Tag.manifest_id)
        .where(
            Manifest.repository_id == repository.id,
            Manifest.digest == digest,
            Tag.is_version.is_(True),
        )
        .limit(1)
    )
