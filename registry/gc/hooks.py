"""The OCI store's :class:`~registry.oci.hooks.ReferencesDropped` hook: queue for review."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from registry.gc.queue import enqueue
from registry.oci.hooks import Unreferenced


class GcQueue:
    """Queues whatever the OCI store reports as maybe unreferenced, in its transaction.

    The entry is reviewed after ``delay``: a push that references the blob or
    manifest meanwhile keeps it (the collector re-checks under lock).
    """

    def __init__(self, delay: timedelta) -> None:
        self.delay = delay

    async def references_dropped(self, session: AsyncSession, change: Unreferenced) -> None:
        if change.manifests:
            await enqueue(
                session,
                change.manifests,
                kind="manifest",
                reason=change.reason,
                delay=self.delay,
                repository_id=change.repository_id,
            )
        if change.blobs:
            await enqueue(
                session, change.blobs, kind="blob", reason=change.reason, delay=self.delay
            )
