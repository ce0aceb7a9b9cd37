"""The namespace usage counter: ``namespaces.usage_bytes``, kept exact by every change.

A namespace's usage (ADR 0014) is its distinct linked blobs plus its distinct
manifests, each counted once per namespace. Recomputing it is a query over every
link of the namespace (3.6x a push's cost at 20,000 links), so the figure is kept
in a counter instead, changed in the same transaction as what changes it:

- :func:`charge` before a blob is linked or a manifest stored (push, mount, SBOM
  attach): adds what the namespace does not hold yet;
- :func:`release` after a blob link or a manifest row is deleted (user deletes, the
  collector's manifests): subtracts what the namespace no longer holds;
- :func:`drop_links` after the collector deletes every link of some blobs.

Exact under concurrency because every check-then-change above runs under the
namespace's lock (:func:`lock_namespace`): the check ("is this digest already held in
the namespace?") and the counter's change cannot interleave with another
transaction's. :func:`recount` replaces the counter by the full computation
(``custody namespace quota NS --recount``): drift can only
come from writes made outside these functions (a restored backup, a hand edit).

Lock order, so no two writers wait on each other in a cycle: a repository's lock
and a digest's lock come before the namespace's; the namespace's is the last taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import Blob, Manifest, Namespace, Repository, RepositoryBlob

__all__ = [
    "Kind",
    "charge",
    "computed",
    "drop_links",
    "held",
    "lock_namespace",
    "recount",
    "release",
]

Kind = Literal["blob", "manifest"]


async def lock_namespace(session: AsyncSession, namespace_id: int) -> None:
    """Serialise the usage changes and quota checks of one namespace until the transaction ends.

    PostgreSQL: a row lock (``FOR NO KEY UPDATE``: new repositories may still
    reference the row); statements after it see every commit made before it.
    SQLite: a write makes this transaction the only writer (as
    :func:`registry.oci.queries.lock_repository` does).
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(Namespace.id).where(Namespace.id == namespace_id).with_for_update(key_share=True)
        )
        return
    await session.execute(
        update(Namespace)
        .where(Namespace.id == namespace_id)
        .values(id=Namespace.id)
        .execution_options(synchronize_session=False)
    )


async def held(session: AsyncSession, namespace_id: int, kind: Kind, digest: str) -> bool:
    """Whether ``digest`` is counted in the namespace (linked there, or stored there)."""
    if kind == "blob":
        query = (
            select(RepositoryBlob.blob_digest)
            .join(Repository, Repository.id == RepositoryBlob.repository_id)
            .where(Repository.namespace_id == namespace_id, RepositoryBlob.blob_digest == digest)
        )
    else:
        query = (
            select(Manifest.digest)
            .join(Repository, Repository.id == Manifest.repository_id)
            .where(Repository.namespace_id == namespace_id, Manifest.digest == digest)
        )
    return await session.scalar(query.limit(1)) is not None


async def _add(session: AsyncSession, namespace_id: int, delta: int) -> None:
    if delta:
        await session.execute(
            update(Namespace)
            .where(Namespace.id == namespace_id)
            .values(usage_bytes=Namespace.usage_bytes + delta)
            .execution_options(synchronize_session=False)
        )


async def charge(
    session: AsyncSession,
    namespace_id: int,
    items: Sequence[tuple[Kind, str, int]],
    *,
    limit: int | None = None,
) -> tuple[int, int]:
    """Count ``items`` ((kind, digest, size) about to be linked or stored) in the namespace.

    Call under :func:`lock_namespace`, before the rows are written. Returns (usage
    before, bytes added); with ``limit`` (the quota), adds nothing when the sum would
    pass it, and the caller refuses. An item the namespace already holds adds nothing.
    """
    adding = 0
    for kind, digest, size in dict.fromkeys(items):
        if not await held(session, namespace_id, kind, digest):
            adding += size
    used = int(
        await session.scalar(select(Namespace.usage_bytes).where(Namespace.id == namespace_id)) or 0
    )
    if limit is None or used + adding <= limit:
        await _add(session, namespace_id, adding)
    return used, adding


async def release(
    session: AsyncSession, namespace_id: int, items: Iterable[tuple[Kind, str, int]]
) -> None:
    """Uncount what the namespace no longer holds of ``items`` (just unlinked or deleted).

    The caller takes :func:`lock_namespace` *before* deleting the rows (a push waiting
    on a deleted row while holding the namespace's lock would otherwise deadlock with
    it); the check then sees every commit: a push that stored the same digest in
    another repository of the namespace either committed before (and keeps it counted)
    or waits for this transaction (and counts it again)."""
    wanted = list(dict.fromkeys(items))
    if not wanted:
        return
    await lock_namespace(session, namespace_id)
    freed = 0
    for kind, digest, size in wanted:
        if not await held(session, namespace_id, kind, digest):
            freed += size
    await _add(session, namespace_id, -freed)


async def drop_links(
    session: AsyncSession, links: Iterable[tuple[int, str]], sizes: dict[str, int]
) -> None:
    """Uncount blobs whose every link this transaction has just deleted (the collector).

    ``links`` are the (repository id, digest) rows the ``DELETE`` returned (only rows it
    deleted: a link a concurrent unlink removed first was uncounted by it), ``sizes`` the
    blobs' sizes. The caller holds the digests' locks, so no new link of them can be
    added meanwhile: each namespace that linked one loses its size once. Namespaces are
    updated in id order (two collectors never wait on each other in a cycle), each with
    an atomic ``UPDATE``, after the deletes (so never held while waiting on a link row).
    """
    pairs = set(links)
    if not pairs:
        return
    namespaces = dict(
        (
            await session.execute(
                select(Repository.id, Repository.namespace_id).where(
                    Repository.id.in_({repository_id for repository_id, _ in pairs})
                )
            )
        ).all()
    )
    freed: dict[int, int] = {}
    for namespace_id, digest in {(namespaces[r], d) for r, d in pairs if r in namespaces}:
        freed[namespace_id] = freed.get(namespace_id, 0) + sizes[digest]
    for namespace_id in sorted(freed):
        await _add(session, namespace_id, -freed[namespace_id])


async def computed(session: AsyncSession, namespace_id: int) -> int:
    """One namespace's usage computed from its rows (what the counter must equal): its
    distinct blobs (an ``IN`` list, which dedupes without sorting the rows), plus its
    distinct manifests."""
    linked = (
        select(RepositoryBlob.blob_digest)
        .join(Repository, Repository.id == RepositoryBlob.repository_id)
        .where(Repository.namespace_id == namespace_id)
    )
    blobs = select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.digest.in_(linked))
    manifests = (
        select(Manifest.digest, Manifest.size)
        .join(Repository, Repository.id == Manifest.repository_id)
        .where(Repository.namespace_id == namespace_id)
        .distinct()
        .subquery()
    )
    total = select(
        blobs.scalar_subquery()
        + select(func.coalesce(func.sum(manifests.c.size), 0)).scalar_subquery()
    )
    return int(await session.scalar(total) or 0)


async def recount(session: AsyncSession, namespace_id: int) -> tuple[int, int]:
    """Set the counter to the computed usage, under the namespace's lock; (before, after)."""
    await lock_namespace(session, namespace_id)
    before = int(
        await session.scalar(select(Namespace.usage_bytes).where(Namespace.id == namespace_id)) or 0
    )
    after = await computed(session, namespace_id)
    if after != before:
        await _add(session, namespace_id, after - before)
    return before, after
