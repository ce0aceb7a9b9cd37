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
  the last bytes are serialised and the second sees the first's links, and counts
  what it lets in (:mod:`registry.oci.usage`). A namespace never ends a committed
  transaction over its quota because of a push (lowering a quota below the usage is
  allowed: the namespace then takes nothing new).

The loser of such a race may have stored its bytes already (the early check let both
through): its blob stays in the store without a row, the orphan file a killed upload
leaves (:mod:`registry.storage.consistency`), for garbage collection.

The usage is read from the namespace's counter (``namespaces.usage_bytes``), so a
check costs the same whatever the namespace holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import Namespace
from registry.errors import QuotaExceeded
from registry.oci import usage
from registry.oci.usage import Kind
from registry.sizes import format_size

__all__ = [
    "NamespaceUsage",
    "already_stored",
    "require_room",
    "room_for",
    "usage_by_namespace",
    "usage_of",
]


@dataclass(frozen=True, slots=True)
class NamespaceUsage:
    namespace: str
    used_bytes: int
    #: ``None``: unlimited.
    quota_bytes: int | None

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


async def usage_by_namespace(session: AsyncSession) -> list[NamespaceUsage]:
    """Every namespace's usage and quota, by name (the metrics scrape)."""
    rows = await session.execute(
        select(Namespace.name, Namespace.quota_bytes, Namespace.usage_bytes).order_by(
            Namespace.name
        )
    )
    return [NamespaceUsage(name, int(used), quota) for name, quota, used in rows]


async def usage_of(session: AsyncSession, namespace: Namespace) -> NamespaceUsage:
    """``namespace``'s usage now, with its quota."""
    used = await session.scalar(select(Namespace.usage_bytes).where(Namespace.id == namespace.id))
    return NamespaceUsage(namespace.name, int(used or 0), namespace.quota_bytes)


async def room_for(session: AsyncSession, namespace: str) -> NamespaceUsage | None:
    """The usage of a namespace that has a quota; ``None`` if it has none (or is new).

    No lock: the early check that spares uploading bytes which cannot fit. The guard
    is :func:`require_room`, when the bytes are linked.
    """
    row = (
        await session.execute(
            select(Namespace.quota_bytes, Namespace.usage_bytes).where(Namespace.name == namespace)
        )
    ).first()
    if row is None or row.quota_bytes is None:
        return None
    return NamespaceUsage(namespace, int(row.usage_bytes), row.quota_bytes)


async def already_stored(session: AsyncSession, namespace: str, kind: Kind, digest: str) -> bool:
    """Whether ``digest`` is already counted in ``namespace`` (pushing it again costs nothing)."""
    namespace_id = await session.scalar(select(Namespace.id).where(Namespace.name == namespace))
    return namespace_id is not None and await usage.held(session, namespace_id, kind, digest)


async def require_room(
    session: AsyncSession, namespace_id: int, items: Sequence[tuple[Kind, str, int]]
) -> NamespaceUsage | None:
    """Raise :class:`QuotaExceeded` unless ``items`` ((kind, digest, size) of the blobs and
    manifests about to be linked or stored) fit the namespace's quota; else count them.

    Called in the transaction that links or stores them, before it does: takes the
    namespace's lock, so the check, the count and the writes cannot interleave with
    another push's. An item already counted in the namespace costs nothing. Every
    namespace is counted, with a quota or without (one may be set at any time).

    Returns the namespace's usage once ``items`` are in, or ``None`` when it has no quota.
    """
    await usage.lock_namespace(session, namespace_id)
    row = (
        await session.execute(
            select(Namespace.name, Namespace.quota_bytes).where(Namespace.id == namespace_id)
        )
    ).one()
    used, adding = await usage.charge(session, namespace_id, items, limit=row.quota_bytes)
    if row.quota_bytes is None:
        return None
    current = NamespaceUsage(row.name, used, row.quota_bytes)
    if used + adding > row.quota_bytes:
        raise current.refusal(adding)
    return NamespaceUsage(row.name, used + adding, row.quota_bytes)
