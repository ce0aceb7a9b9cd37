"""Abandoned upload sessions expire while the server runs.

A chunked upload nobody finishes leaves an ``upload_sessions`` row and its bytes in
the store (a file under ``_sessions/``, or on S3 the session's objects and perhaps a
multipart upload); a monolithic upload cut off leaves a temporary file or a staging
object. :func:`purge_stale_uploads` removes all of it once it has seen no activity
for ``older_than``:

1. the store sweeps what it holds (:meth:`registry.storage.BlobStore.sweep_uploads`):
   activity there is the time of the last byte written, so a session still being
   appended to (its file grows, its chunks arrive) is kept whatever its age;
2. a row idle since before the cutoff (``updated_at``, set at the start and by every
   ``PATCH``) is deleted only once its session is gone from the store: a row whose
   bytes are still arriving stays.

Each namespace whose sessions expired gets one audit event (``upload.expire``, by
``custody:upload-expiry``) naming how many. :func:`expire_uploads_forever` runs the
purge at start-up, then every ``interval`` (the server's lifespan task).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.audit.service import record
from registry.db.models import Namespace, Repository, UploadSession
from registry.db.types import utcnow
from registry.errors import BlobUploadUnknown
from registry.storage.base import BlobStore

__all__ = ["UploadPurge", "expire_uploads_forever", "purge_stale_uploads"]

log = logging.getLogger("registry.gc.uploads")

#: Who the audit trail names for an expiry.
ACTOR = "custody:upload-expiry"


@dataclass(frozen=True, slots=True)
class UploadPurge:
    """What one purge removed."""

    #: ``upload_sessions`` rows deleted, by namespace.
    rows: dict[str, int]
    #: Files, objects and multipart uploads removed from the store.
    store_removed: int

    @property
    def sessions(self) -> int:
        return sum(self.rows.values())


async def purge_stale_uploads(
    sessionmaker: async_sessionmaker[AsyncSession], store: BlobStore, *, older_than: timedelta
) -> UploadPurge:
    """Remove upload sessions and temporary uploads idle for ``older_than`` (rows and bytes)."""
    swept = await store.sweep_uploads(older_than.total_seconds())
    cutoff = utcnow() - older_than
    gone_in_store = set(swept.sessions)
    async with sessionmaker() as session:
        stale = (
            await session.execute(
                select(UploadSession.id, Namespace.name)
                .join(Repository, Repository.id == UploadSession.repository_id)
                .join(Namespace, Namespace.id == Repository.namespace_id)
                .where(UploadSession.updated_at < cutoff)
            )
        ).all()
        expired: dict[str, list[str]] = defaultdict(list)
        for upload_id, namespace in stale:
            if upload_id in gone_in_store or not await _in_store(store, upload_id):
                expired[namespace].append(upload_id)
        rows: dict[str, int] = {}
        for namespace, ids in sorted(expired.items()):
            # updated_at again: a PATCH that landed since the select keeps its row.
            result = await session.execute(
                delete(UploadSession).where(
                    UploadSession.id.in_(ids), UploadSession.updated_at < cutoff
                )
            )
            count = int(getattr(result, "rowcount", 0) or 0)
            if count:
                rows[namespace] = count
                await record(
                    session,
                    actor=ACTOR,
                    action="upload.expire",
                    subject=f"namespace/{namespace}",
                    namespace=namespace,
                    detail={
                        "sessions": count,
                        "idle_seconds": int(older_than.total_seconds()),
                    },
                )
        await session.commit()
    purge = UploadPurge(rows, swept.removed)
    if purge.sessions or purge.store_removed:
        log.info(
            "expired %d upload sessions idle for %ds (%d files, objects or multipart uploads "
            "removed from the store)",
            purge.sessions,
            older_than.total_seconds(),
            purge.store_removed,
        )
    return purge


async def _in_store(store: BlobStore, upload_id: str) -> bool:
    try:
        await store.upload_size(upload_id)
    except BlobUploadUnknown:
        return False
    return True


async def expire_uploads_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: BlobStore,
    *,
    older_than: timedelta,
    interval: float,
) -> None:
    """Purge now, then every ``interval`` seconds (``0``: only now) until cancelled.

    A purge that fails (the store or the database unreachable) is logged and
    tried again at the next interval; it never stops the server.
    """
    while True:
        try:
            await purge_stale_uploads(sessionmaker, store, older_than=older_than)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - logged; the next round tries again
            log.warning("could not expire stale uploads (%s): %s", type(exc).__name__, exc)
        if interval <= 0:
            return
        await asyncio.sleep(interval)
