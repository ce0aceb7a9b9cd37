"""Storage accounting per namespace: what a namespace stores, and its quota.

A namespace's usage is the bytes it would free if it went away, counted as Harbor
counts a project's: every distinct blob linked into any of its repositories, once
(the same layer in two models of one namespace counts once; in two namespaces, once
in each), plus every distinct manifest (manifests are stored bytes too, in the
database). Upload sessions in flight count only once they are finished and linked.

``namespaces.quota_bytes`` is the limit (``NULL``: unlimited). Two checks keep it:

- :func:`room_for` (no lock) is the bandwidth saver: a push whose declared or
  streamed size cannot fit is refused before its bytes are stored;
- :func:`require_room` is the guard: called in the transaction that links a blob or
  stores a manifest, it locks the namespace's row first, so two pushes racing for
  the last bytes are serialised and the second sees the first's links. A namespace
  never ends a committed transaction over its quota because of a push (lowering a
  quota below the usage is allowed: the namespace then takes nothing new).

The loser of such a race may have stored its bytes already (the early check let both
through): its blob stays in the store without a row, the orphan file a killed upload
leaves (:mod:`registry.storage.consistency`), for garbage collection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Select, func, literal, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import Blob, Manifest, Namespace, Repository, RepositoryBlob
from registry.errors import QuotaExceeded
from registry.sizes import format_size

__all__ = [
    "NamespaceUsage",
    "already_stored",
    "require_room",
    "room_for",
    "usage_by_namespace",
    "usage_of",
]

Kind = Literal["blob", "manifest"]


@dataclass(frozen=True, slots=True)
class NamespaceUsage:
    namespace: str
    used_bytes: int
    #: ``None``: unlimited.
    quota_bytes: int | None
    #: The usage is a recent reading, not computed now: good to let bytes in, not to refuse.
    recent: bool = False

    @property
    def remaining(self) -> int | None:
        """Bytes still allowed (0 when at or over the quota); ``None`` when unlimited."""
        if self.quota_bytes is None:
            return None
        return max(self.quota_bytes - self.used_bytes, 0)

    def refusal(self, adding: int) -> QuotaExceeded:
        """The refusal (409 ``DENIED``) of adding ``adding`` bytes, naming the quota and usage."""
        quota = self.quota_bytes if self.quota_bytes is not None else 0
        return QuotaExceeded(
            f"storage quota of namespace {self.namespace} exceeded: adding {format_size(adding)}"
            f" to the {format_size(self.used_bytes)} it stores would pass its quota of "
            f"{format_size(quota)} (delete versions it no longer needs, or ask a site "
            "admin to raise it: custody namespace quota)",
            extra={
                "namespace": self.namespace,
                "quota_bytes": quota,
                "used_bytes": self.used_bytes,
                "requested_bytes": adding,
            },
        )


def _stored() -> Select[tuple[int, str, str, int]]:
    """(namespace id, kind, digest, size) of every distinct blob and manifest stored."""
    blobs = (
        select(
            Repository.namespace_id.label("namespace_id"),
            literal("blob").label("kind"),
            Blob.digest.label("digest"),
            Blob.size.label("size"),
        )
        .join(RepositoryBlob, RepositoryBlob.blob_digest == Blob.digest)
        .join(Repository, Repository.id == RepositoryBlob.repository_id)
    )
    manifests = select(
        Repository.namespace_id, literal("manifest"), Manifest.digest, Manifest.size
    ).join(Repository, Repository.id == Manifest.repository_id)
    # UNION (not UNION ALL) is what counts a digest once per namespace.
    return union(blobs, manifests)  # type: ignore[return-value]


async def _used_bytes(session: AsyncSession, namespace_id: int) -> int:
    """One namespace's usage: its distinct blobs (an ``IN`` list, which dedupes without
    sorting the rows: a third faster than the union on SQLite), plus its distinct manifests."""
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


async def usage_by_namespace(session: AsyncSession) -> list[NamespaceUsage]:
    """Every namespace's usage and quota, by name, in one query (the metrics scrape)."""
    stored = _stored().subquery()
    rows = await session.execute(
        select(Namespace.name, Namespace.quota_bytes, func.coalesce(func.sum(stored.c.size), 0))
        .outerjoin(stored, stored.c.namespace_id == Namespace.id)
        .group_by(Namespace.id, Namespace.name, Namespace.quota_bytes)
        .order_by(Namespace.name)
    )
    return [NamespaceUsage(name, int(used), quota) for name, quota, used in rows]


async def usage_of(session: AsyncSession, namespace: Namespace) -> NamespaceUsage:
    """``namespace``'s usage now, with its quota."""
    return NamespaceUsage(
        namespace.name, await _used_bytes(session, namespace.id), namespace.quota_bytes
    )


async def room_for(
    session: AsyncSession, namespace: str, *, used: int | None = None
) -> NamespaceUsage | None:
    """The usage of a namespace that has a quota; ``None`` if it has none (or is new).

    No lock: the early check that spares uploading bytes which cannot fit. ``used``
    (a recent reading) saves computing the usage. The guard is :func:`require_room`,
    when the bytes are linked.
    """
    row = (
        await session.execute(
            select(Namespace.id, Namespace.quota_bytes).where(Namespace.name == namespace)
        )
    ).first()
    if row is None or row.quota_bytes is None:
        return None
    if used is None:
        return NamespaceUsage(namespace, await _used_bytes(session, row.id), row.quota_bytes)
    return NamespaceUsage(namespace, used, row.quota_bytes, recent=True)


async def already_stored(session: AsyncSession, namespace: str, kind: Kind, digest: str) -> bool:
    """Whether ``digest`` is already counted in ``namespace`` (pushing it again costs nothing)."""
    if kind == "blob":
        query = (
            select(RepositoryBlob.blob_digest)
            .join(Repository, Repository.id == RepositoryBlob.repository_id)
            .join(Namespace, Namespace.id == Repository.namespace_id)
            .where(Namespace.name == namespace, RepositoryBlob.blob_digest == digest)
        )
    else:
        query = (
            select(Manifest.digest)
            .join(Repository, Repository.id == Manifest.repository_id)
            .join(Namespace, Namespace.id == Repository.namespace_id)
            .where(Namespace.name == namespace, Manifest.digest == digest)
        )
    return await session.scalar(query.limit(1)) is not None


async def _lock_namespace(session: AsyncSession, namespace_id: int) -> None:
    """Serialise the quota checks of one namespace until the transaction ends.

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


async def require_room(
    session: AsyncSession, namespace_id: int, items: Sequence[tuple[Kind, str, int]]
) -> NamespaceUsage | None:
    """Raise :class:`QuotaExceeded` unless ``items`` ((kind, digest, size) of the blobs and
    manifests about to be linked or stored) fit the namespace's quota.

    Called in the transaction that links or stores them, before it does: takes the
    namespace's lock when it has a quota, so the check and the writes it allows cannot
    interleave with another push's. An item already counted in the namespace costs
    nothing; a namespace without a quota costs one query and takes no lock.

    Returns the namespace's usage once ``items`` are in (for the early checks' cache),
    or ``None`` when it has no quota or the items cost nothing.
    """
    quota = await session.scalar(select(Namespace.quota_bytes).where(Namespace.id == namespace_id))
    if quota is None:
        return None
    await _lock_namespace(session, namespace_id)
    row = (
        await session.execute(
            select(Namespace.name, Namespace.quota_bytes).where(Namespace.id == namespace_id)
        )
    ).one()
    if row.quota_bytes is None:
        return None
    adding = 0
    for kind, digest, size in dict.fromkeys(items):
        if not await already_stored(session, row.name, kind, digest):
            adding += size
    if adding == 0:
        return None
    usage = NamespaceUsage(row.name, await _used_bytes(session, namespace_id), row.quota_bytes)
    if usage.used_bytes + adding > row.quota_bytes:
        raise usage.refusal(adding)
    return NamespaceUsage(row.name, usage.used_bytes + adding, row.quota_bytes)
