"""The TUF repository as the running registry sees it: serve, and publish on demand.

Publication is lazy: a tag change only marks its namespace (same transaction),
and the next ``GET /tuf/timestamp.json`` publishes whatever is marked or due
before answering. Clients always start a refresh with ``timestamp.json``, so no
client ever sees metadata older than the last committed change; every other
file is an immutable version. Replicas serialise on the publisher lock; each
remembers when something is next due so that a quiet repository costs one
indexed query per timestamp read.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.db.types import utcnow
from registry.errors import RegistryError
from registry.settings import Settings
from registry.tuf import queries
from registry.tuf.bins import Binning
from registry.tuf.errors import MetadataUnknown, TufNotInitialised
from registry.tuf.keys import KeyStore
from registry.tuf.publisher import Lifetimes, Publication, Publisher

log = logging.getLogger("registry.tuf")


def publisher_for(settings: Settings) -> Publisher:
    return Publisher(
        KeyStore(settings.effective_tuf_keys_dir),
        Lifetimes.from_settings(settings),
        KeyStore(settings.effective_tuf_root_keys_dir),
        Binning(settings.tuf.bin_threshold, settings.tuf.targets_per_bin),
    )


async def publish_locked(
    maker: async_sessionmaker[AsyncSession], publisher: Publisher
) -> Publication:
    """One publication in its own transaction, the lock taken first."""
    async with maker() as session:
        await queries.lock(session)
        result = await publisher.publish(session)
        await session.commit()
        return result


class TufService:
    def __init__(self, settings: Settings, maker: async_sessionmaker[AsyncSession]) -> None:
        self.publisher = publisher_for(settings)
        self.maker = maker
        self._next_due: datetime | None = None
        self._serial = asyncio.Lock()

    async def refresh(self) -> None:
        """Publish marked changes and re-sign due roles; failures are logged, not raised.

        Serving the previous (still signed, maybe expiring) metadata is safe: the
        client checks expiry itself.
        """
        async with self._serial:
            if not await self._work_waiting():
                return
            for attempt in (1, 2):
                try:
                    result = await publish_locked(self.maker, self.publisher)
                except TufNotInitialised:
                    return
                except IntegrityError:  # another publisher won a version; look again
                    if attempt == 2:
                        log.error("TUF publication conflicted twice; serving what is there")
                    continue
                except RegistryError as exc:
                    log.error("TUF publication failed: %s", exc.diagnostics())
                    return
                except SQLAlchemyError as exc:  # e.g. a lock timeout: nothing was committed
                    log.error("TUF publication failed in the database: %s", exc)
                    return
                self._next_due = result.next_due
                return

    async def _work_waiting(self) -> bool:
        """Cheap reads only: nothing is locked or written unless there is work."""
        async with self.maker() as session:
            if self._next_due is None:
                # Not initialised yet (or first read): a repository without root has no work.
                return await queries.latest_row(session, "root") is not None
            if utcnow() >= self._next_due:
                return True
            return await queries.any_pending(session)

    async def timestamp(self) -> bytes:
        await self.refresh()
        async with self.maker() as session:
            row = await queries.latest_row(session, "timestamp")
        if row is None:
            raise TufNotInitialised("the TUF repository is not initialised: run 'custody tuf init'")
        return row.content

    async def versioned(self, role: str, version: int) -> bytes:
        async with self.maker() as session:
            data = await queries.content(session, role, version)
        if data is None:
            raise MetadataUnknown(f"there is no version {version} of TUF role {role!r}")
        return data
