"""``custody demo remove``'s work: take the ``demo`` namespace out of the registry.

In one transaction it deletes what seeding made in the database: the namespace's
repositories with their tags, manifests, blob links, SBOM rows and verification rows, the
outputs registered against them with their reprints, its API tokens and the namespace
itself. The blobs are queued for the garbage collector (registry/gc/), which removes them
once nothing else references them. The transparency log and the audit trail are
append-only: their entries stay. The TUF role of the namespace is marked for republication.
Then ``<data_dir>/demo`` (key, policies, files) is deleted.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import (
    AccessToken,
    ApiToken,
    HubOutput,
    HubReprint,
    Manifest,
    ManifestReference,
    Namespace,
    Repository,
    RepositoryBlob,
    Sbom,
    SbomFact,
    SignatureVerification,
    Tag,
    UploadSession,
)
from registry.demo.seed import DEMO_NAMESPACE, demo_dir
from registry.gc.queue import enqueue
from registry.settings import Settings
from registry.tuf.changes import namespace_changed


@dataclass
class Removed:
    """What :func:`remove_demo` removed (all zero: there was nothing to remove)."""

    namespace: bool = False
    repositories: list[str] = field(default_factory=list)
    tags: int = 0
    manifests: int = 0
    blob_links: int = 0
    outputs: int = 0
    reprints: int = 0
    tokens: int = 0
    files: bool = False

    @property
    def nothing(self) -> bool:
        return not (self.namespace or self.files)


async def remove_demo_rows(session: AsyncSession, removed: Removed, *, delay: timedelta) -> None:
    """Delete the demo namespace's rows (not committed); fills ``removed``.

    The blobs it linked are queued for the collector's review after ``delay``
    (``CUSTODY_GC_DELAY_SECONDS``), like any other blob that lost a reference.
    """
    namespace = await session.scalar(select(Namespace).where(Namespace.name == DEMO_NAMESPACE))
    if namespace is None:
        return
    outputs = list(
        await session.scalars(select(HubOutput.id).where(HubOutput.namespace == DEMO_NAMESPACE))
    )
    if outputs:
        removed.reprints = len(
            (
                await session.execute(
                    delete(HubReprint)
                    .where(HubReprint.output_id.in_(outputs))
                    .returning(HubReprint.id)
                )
            ).all()
        )
        await session.execute(delete(HubOutput).where(HubOutput.id.in_(outputs)))
        removed.outputs = len(outputs)
    blobs: set[str] = set()
    for repository in list(
        await session.scalars(select(Repository).where(Repository.namespace_id == namespace.id))
    ):
        removed.repositories.append(repository.name)
        manifests = list(
            await session.execute(
                select(Manifest.id, Manifest.digest).where(Manifest.repository_id == repository.id)
            )
        )
        ids = [row.id for row in manifests]  # manifests live in their rows, not in blobs
        links = list(
            await session.scalars(
                select(RepositoryBlob.blob_digest).where(
                    RepositoryBlob.repository_id == repository.id
                )
            )
        )
        blobs.update(links)
        removed.blob_links += len(links)
        removed.tags += len(
            (
                await session.execute(
                    delete(Tag).where(Tag.repository_id == repository.id).returning(Tag.id)
                )
            ).all()
        )
        sboms = select(Sbom.id).where(Sbom.repository_id == repository.id)
        await session.execute(delete(SbomFact).where(SbomFact.sbom_id.in_(sboms)))
        await session.execute(delete(Sbom).where(Sbom.repository_id == repository.id))
        await session.execute(
            delete(SignatureVerification).where(
                SignatureVerification.repository_id == repository.id
            )
        )
        if ids:
            await session.execute(
                delete(ManifestReference).where(ManifestReference.manifest_id.in_(ids))
            )
            await session.execute(delete(Manifest).where(Manifest.id.in_(ids)))
        removed.manifests += len(ids)
        await session.execute(
            delete(RepositoryBlob).where(RepositoryBlob.repository_id == repository.id)
        )
        await session.execute(
            delete(UploadSession).where(UploadSession.repository_id == repository.id)
        )
        await session.delete(repository)
    tokens = select(ApiToken.id).where(ApiToken.namespace == DEMO_NAMESPACE)
    await session.execute(delete(AccessToken).where(AccessToken.api_token_id.in_(tokens)))
    removed.tokens = len(
        (
            await session.execute(
                delete(ApiToken).where(ApiToken.namespace == DEMO_NAMESPACE).returning(ApiToken.id)
            )
        ).all()
    )
    await session.delete(namespace)
    removed.namespace = True
    if blobs:
        # The collector re-checks each under lock: a blob another repository links stays.
        await enqueue(session, sorted(blobs), kind="blob", reason="demo.remove", delay=delay)
    await namespace_changed(session, DEMO_NAMESPACE)


def remove_demo_files(settings: Settings, removed: Removed) -> None:
    directory = demo_dir(settings)
    if directory.is_dir():
        shutil.rmtree(directory)
        removed.files = True
