"""The collector: re-check queued blobs and manifests under lock, remove what nothing references.

What keeps something (the re-check, made inside the deleting transaction):

- a **blob** is kept while any manifest (in any repository) names it as its
  config or a layer. A link into a repository alone does not keep it: a blob
  uploaded for a push that never came (abandoned, or refused by admission) goes
  after the delay, as in GitLab's registry.
- a **manifest** is kept while a tag (a version or an alias) names it, an index
  in its repository lists it, or its ``subject`` is a manifest of its repository
  (signatures and SBOMs live as long as what they describe). With
  ``CUSTODY_GC_COLLECT_UNTAGGED=false`` every manifest is kept (Harbor's default):
  only an explicit DELETE removes one.

Versions are tags that can never be moved or deleted, so a version's manifest,
its index children, its referrers and all their blobs are never collected.
Removing a manifest queues its blobs, children and referrers (the cascade),
each reviewed after the delay like any other entry.

The race the collector must win: a push that reuses a blob it saw with HEAD, and
then PUTs a manifest naming it, must never be acknowledged if the blob (its row or
its bytes) is gone. The locking, on each engine:

PostgreSQL (READ COMMITTED)
    A blob batch takes, in digest order, the per-digest advisory locks
    (``pg_advisory_xact_lock``, :func:`registry.oci.queries.lock_digest`), then the
    blob rows ``FOR UPDATE SKIP LOCKED``, then re-checks references in a *new*
    statement (which sees every commit made before it), deletes the bytes while
    holding the locks, then the rows, and commits. A manifest PUT reads each blob it
    names ``FOR KEY SHARE`` (:func:`registry.oci.queries.linked_blob_size`): if the
    PUT got there first, the row is skipped this pass (``SKIP LOCKED``; the PUT is
    about to reference it, and waiting could deadlock with a PUT naming several
    blobs) and stays queued; if the collector got there first, the PUT waits,
    then finds no row and is refused with ``MANIFEST_BLOB_UNKNOWN``. An upload
    finishing a blob of the same digest takes the same advisory lock before it
    links the row, and checks the bytes are there when it creates the row
    (:func:`registry.oci.blob_handlers._finish`), so it never links a row to bytes
    the collector has just removed.
SQLite (one writer)
    Every transaction of the collector starts with a write, which makes it the
    database's only writer until it commits (``registry.db.engine`` leaves
    pysqlite's legacy transaction control on, so reads before a transaction's first
    write see the latest commit and the writer lock is taken by that first write).
    Manifest PUTs (``lock_repository``) and upload links (``lock_digest``) also
    start with a write: all three are serialised, and each re-reads after its lock.
    SQLite serves one process, so no lock is needed beyond the database's own.

Manifests are re-checked under their repository's lock (``lock_repository``), the
lock every manifest PUT, tag change and manifest delete takes before it checks.

Every transaction handles a bounded batch (:data:`BATCH`, halved while one takes more
than :data:`TARGET_SECONDS`), so no transaction holds its locks for long, and on
SQLite the collector pauses after each so pushes get the write lock in between
(``python -m bench gc`` measures the longest and the median); a batch that fails (a
store error) is rolled back, keeps its queue entries, and the pass goes on. Each
transaction also keeps the namespaces' usage counters (:mod:`registry.oci.usage`).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.audit.service import record_many
from registry.db.models import (
    Blob,
    GcReview,
    Manifest,
    ManifestReference,
    Repository,
    RepositoryBlob,
    Tag,
)
from registry.db.types import utcnow
from registry.digests import Digest
from registry.gc.queue import enqueue
from registry.oci import usage
from registry.oci.queries import digest_lock_key, lock_repository
from registry.storage import BlobStore

log = logging.getLogger("registry.gc")

ACTOR = "gc"
#: Queue entries found still referenced are dropped this many per transaction (a
#: delete by primary key each: a few milliseconds for the lot).
_DROP_BATCH = 250
#: Blobs (or manifests of one repository) removed per transaction at most. A blob's
#: bytes are deleted while the transaction holds its lock (that is what makes the race
#: with pushes safe), so this also bounds the object-store deletes one transaction
#: waits for: 8 run in parallel, about one round trip to S3, well under a millisecond
#: each on a filesystem. Smaller only adds commits (about 1 ms each on SQLite).
BATCH = 8
#: What a transaction should take at most: batches halve while one takes longer.
TARGET_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Collected:
    """Something the pass removed (or, in a dry run, would remove)."""

    kind: str  # "blob" or "manifest"
    digest: str
    size: int
    repository: str | None = None
    reason: str = ""


@dataclass(slots=True)
class PassReport:
    collected: list[Collected] = field(default_factory=list)
    #: Queue entries reviewed and found still referenced (dropped from the queue).
    kept: int = 0
    #: Entries left queued: locked by a concurrent push, or their batch failed.
    deferred: int = 0
    errors: list[str] = field(default_factory=list)
    transactions: int = 0
    longest_transaction_seconds: float = 0.0
    #: What the longest transaction did.
    longest_transaction: str = ""
    #: How long each write transaction took, opening to commit, in order.
    transaction_seconds: list[float] = field(default_factory=list)
    #: How long each write transaction held its locks (from the locking statement's
    #: return to the commit's): what a concurrent push may have waited.
    lock_hold_seconds: list[float] = field(default_factory=list)

    @property
    def median_transaction_seconds(self) -> float:
        return statistics.median(self.transaction_seconds) if self.transaction_seconds else 0.0

    @property
    def longest_lock_hold_seconds(self) -> float:
        return max(self.lock_hold_seconds, default=0.0)

    @property
    def median_lock_hold_seconds(self) -> float:
        return statistics.median(self.lock_hold_seconds) if self.lock_hold_seconds else 0.0

    @property
    def blobs(self) -> list[Collected]:
        return [c for c in self.collected if c.kind == "blob"]

    @property
    def manifests(self) -> list[Collected]:
        return [c for c in self.collected if c.kind == "manifest"]

    @property
    def bytes_freed(self) -> int:
        return sum(c.size for c in self.blobs)

    def as_json(self) -> dict[str, Any]:
        return {
            "blobs": [{"digest": c.digest, "size": c.size, "reason": c.reason} for c in self.blobs],
            "manifests": [
                {
                    "repository": c.repository,
                    "digest": c.digest,
                    "size": c.size,
                    "reason": c.reason,
                }
                for c in self.manifests
            ],
            "bytes_freed": self.bytes_freed,
            "kept": self.kept,
            "deferred": self.deferred,
            "errors": self.errors,
        }


@dataclass(slots=True)
class _Clock:
    """When the running transaction took its locks (``None``: it took none)."""

    locked_at: float | None = None

    def locked(self) -> None:
        if self.locked_at is None:
            self.locked_at = time.perf_counter()


@dataclass(frozen=True, slots=True)
class _Review:
    id: int
    kind: str
    digest: str
    repository_id: int | None
    reason: str
    #: When the pass read it: only an entry queued before then is this one (SQLite may
    #: give a deleted entry's id to a new one).
    read_at: datetime


class Collector:
    """One pass at a time over the review queue (``custody gc``, or the background worker).

    ``delay`` is what the cascade (a removed manifest's blobs and children) waits;
    blob and manifest batches hold at most ``batch`` items, halved while a transaction
    takes longer than ``target_seconds`` (so locks are held briefly even on a slow
    store); ``on_collected`` is told of every removal after its transaction commits
    (metrics, caches).

    On SQLite the collector's transactions hold the database's only write lock, so
    after each it waits ``sqlite_pause`` times as long as it held it before the next: a
    push waiting for the lock (SQLite's busy handler retries every few milliseconds)
    gets it between two batches instead of after the whole pass.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        blobs: BlobStore,
        *,
        delay: timedelta,
        collect_untagged: bool = True,
        batch: int = BATCH,
        scan: int = 2000,
        target_seconds: float = TARGET_SECONDS,
        sqlite_pause: float = 1.0,
        on_collected: Callable[[Sequence[Collected]], None] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.blobs = blobs
        self.delay = delay
        self.collect_untagged = collect_untagged
        self.batch = max(1, batch)
        self.scan = max(self.batch, scan)
        self.target_seconds = target_seconds
        self.sqlite_pause = sqlite_pause
        self.on_collected = on_collected

    # -- the pass --------------------------------------------------------------------

    async def run_pass(
        self, *, dry_run: bool = False, ignore_delay: bool = False, now: datetime | None = None
    ) -> PassReport:
        """Review every entry due at ``now`` (all of them with ``ignore_delay``), once each.

        Entries the pass queues itself (the cascade) are reviewed in the same pass
        when they are due, which they are with a zero delay or ``ignore_delay``.
        A dry run removes nothing and leaves the queue as it is; it lists what
        is removable now (not what removing it would make removable next).
        """
        report = PassReport()
        cursor = 0
        while True:
            due = utcnow() if now is None else now
            reviews = await self._due(cursor, due, ignore_delay)
            if not reviews:
                break
            cursor = reviews[-1].id
            blobs = [r for r in reviews if r.kind == "blob"]
            manifests = [r for r in reviews if r.kind == "manifest"]
            if manifests:
                await self._manifests(manifests, report, dry_run=dry_run)
            if blobs:
                await self._blobs(blobs, report, dry_run=dry_run)
        return report

    async def _due(self, after: int, now: datetime, ignore_delay: bool) -> list[_Review]:
        query = select(GcReview).where(GcReview.id > after).order_by(GcReview.id).limit(self.scan)
        if not ignore_delay:
            query = query.where(GcReview.review_after <= now)
        read_at = utcnow()
        async with self.sessionmaker() as session:
            rows = (await session.scalars(query)).all()
        return [_Review(r.id, r.kind, r.digest, r.repository_id, r.reason, read_at) for r in rows]

    async def _transaction(
        self, report: PassReport, work: Callable[[AsyncSession, _Clock], Any], *, what: str
    ) -> Any:
        """Run ``work`` in one transaction, timed; a failure is logged and rolled back.

        ``work`` calls ``clock.locked()`` once its locks are taken (a transaction that
        takes none counts as holding them throughout: on SQLite its first write does)."""
        clock = _Clock()
        start = time.perf_counter()
        sqlite = False
        try:
            async with self.sessionmaker() as session:
                sqlite = session.get_bind().dialect.name == "sqlite"
                result = await work(session, clock)
                await session.commit()
                return result
        except Exception as exc:  # noqa: BLE001 - one failed batch must not stop the pass
            report.errors.append(f"{what}: {type(exc).__name__}: {exc}"[:500])
            log.warning("gc: %s failed, kept for the next pass: %s", what, exc)
            return None
        finally:
            end = time.perf_counter()
            elapsed = end - start
            report.transactions += 1
            report.transaction_seconds.append(elapsed)
            held = end - (clock.locked_at if clock.locked_at is not None else start)
            report.lock_hold_seconds.append(held)
            if elapsed > report.longest_transaction_seconds:
                report.longest_transaction_seconds = elapsed
                report.longest_transaction = what
            if sqlite and self.sqlite_pause > 0:  # let a waiting push have the write lock
                await asyncio.sleep(min(held, 4 * self.target_seconds) * self.sqlite_pause)

    def _next_size(self, size: int, elapsed: float) -> int:
        """Adapt the batch so a transaction holds its locks for about ``target_seconds``."""
        if elapsed > self.target_seconds:
            return max(1, size // 2)
        if elapsed < self.target_seconds / 2:
            return min(self.batch, size * 2)
        return size

    # -- blobs -----------------------------------------------------------------------

    async def _blobs(self, reviews: list[_Review], report: PassReport, *, dry_run: bool) -> None:
        by_digest: dict[str, list[_Review]] = {}
        for review in reviews:
            by_digest.setdefault(review.digest, []).append(review)
        # A first look without locks: most entries are still referenced and go at once.
        async with self.sessionmaker() as session:
            referenced = await _referenced_blobs(session, by_digest)
        if referenced and not dry_run:
            kept = [r for d in referenced for r in by_digest[d]]
            for start in range(0, len(kept), _DROP_BATCH):  # short transactions (SQLite's lock)
                some = kept[start : start + _DROP_BATCH]

                async def drop(
                    session: AsyncSession, _clock: _Clock, some: list[_Review] = some
                ) -> None:
                    await _drop_reviews(session, some)

                await self._transaction(report, drop, what="drop kept")
        report.kept += len(referenced)
        candidates = sorted(d for d in by_digest if d not in referenced)
        if dry_run:
            async with self.sessionmaker() as session:
                sizes = await _blob_sizes(session, candidates)
            for digest in candidates:
                reason = by_digest[digest][0].reason
                if digest in sizes:
                    report.collected.append(Collected("blob", digest, sizes[digest], None, reason))
                elif (orphan := await self.blobs.stat(Digest.parse(digest))) is not None:
                    report.collected.append(Collected("blob", digest, orphan.size, None, reason))
            return
        start, size = 0, self.batch
        while start < len(candidates):
            chunk = candidates[start : start + size]
            start += len(chunk)

            async def work(
                session: AsyncSession, clock: _Clock, chunk: list[str] = chunk
            ) -> list[Collected]:
                return await self._collect_blobs(session, clock, chunk, by_digest, report)

            collected = await self._transaction(report, work, what=f"{len(chunk)} blobs")
            # By the time locks were held: waiting for them is no reason for smaller batches.
            size = self._next_size(size, report.lock_hold_seconds[-1])
            if collected is None:
                report.deferred += len(chunk)
                continue
            report.collected.extend(collected)
            if collected and self.on_collected is not None:
                self.on_collected(collected)

    async def _collect_blobs(
        self,
        session: AsyncSession,
        clock: _Clock,
        digests: list[str],
        reviews: dict[str, list[_Review]],
        report: PassReport,
    ) -> list[Collected]:
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            # One statement, keys in one order: two collectors never wait on each other in
            # a cycle (an upload takes a single key).
            await session.execute(
                text(
                    "SELECT pg_advisory_xact_lock(k) FROM "
                    "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS ordered"
                ),
                {"keys": sorted({digest_lock_key(d) for d in digests})},
            )
            rows = await session.execute(
                select(Blob.digest, Blob.size)
                .where(Blob.digest.in_(digests))
                .order_by(Blob.digest)
                .with_for_update(skip_locked=True)
            )
            clock.locked()
        else:
            # The first write makes this transaction SQLite's only writer.
            await session.execute(
                update(Blob)
                .where(Blob.digest.in_(digests))
                .values(size=Blob.size)
                .execution_options(synchronize_session=False)
            )
            clock.locked()
            rows = await session.execute(
                select(Blob.digest, Blob.size).where(Blob.digest.in_(digests))
            )
        locked = {digest: size for digest, size in rows.all()}  # noqa: C416
        existing = set(locked)
        if postgres and len(locked) < len(digests):  # skipped (share-locked by a push) or gone?
            existing = set(
                (await session.scalars(select(Blob.digest).where(Blob.digest.in_(digests)))).all()
            )
        skipped = existing - set(locked)
        # A new statement, after the locks: it sees every push committed before them.
        referenced = await _referenced_blobs(session, locked)
        doomed = sorted(d for d in locked if d not in referenced)
        # The bytes go first, while the locks are held: a crash after this leaves a row
        # whose bytes are gone, which the next upload of the digest writes again.
        await _bounded_gather(self.blobs.delete(Digest.parse(d)) for d in doomed)
        if doomed:
            links = await session.execute(
                delete(RepositoryBlob)
                .where(RepositoryBlob.blob_digest.in_(doomed))
                .returning(RepositoryBlob.repository_id, RepositoryBlob.blob_digest)
                .execution_options(synchronize_session=False)
            )
            unlinked = [(repository_id, digest) for repository_id, digest in links.all()]
            await session.execute(
                delete(Blob)
                .where(Blob.digest.in_(doomed))
                .execution_options(synchronize_session=False)
            )
            # Last: the namespaces' rows stay unlocked while the deletes above may wait.
            await usage.drop_links(session, unlinked, locked)
        collected = [Collected("blob", d, locked[d], None, reviews[d][0].reason) for d in doomed]
        # Bytes with no row at all (fsck found them, or a refused upload left them): under
        # the same locks, an upload now linking the digest finds them gone and is told to
        # upload again (BlobCollected), as for a collected row.
        for digest in sorted(set(digests) - existing):
            stat = await self.blobs.stat(Digest.parse(digest))
            if stat is not None and await self.blobs.delete(stat.digest):
                reason = reviews[digest][0].reason
                collected.append(Collected("blob", digest, stat.size, None, reason))
        await record_many(
            session,
            [
                {
                    "actor": ACTOR,
                    "action": "gc.blob.delete",
                    "subject": c.digest,
                    "namespace": None,
                    "detail": {"size": c.size, "reason": c.reason},
                }
                for c in collected
            ],
        )
        done = [r for d in digests if d not in skipped for r in reviews[d]]
        await _drop_reviews(session, done)
        report.kept += len(referenced)
        report.deferred += len(skipped)
        return collected

    # -- manifests -------------------------------------------------------------------

    async def _manifests(
        self, reviews: list[_Review], report: PassReport, *, dry_run: bool
    ) -> None:
        async with self.sessionmaker() as session:
            unscoped = sorted({r.digest for r in reviews if r.repository_id is None})
            holders: dict[str, list[int]] = {}
            if unscoped:
                rows = await session.execute(
                    select(Manifest.digest, Manifest.repository_id).where(
                        Manifest.digest.in_(unscoped)
                    )
                )
                for digest, repository_id in rows:
                    holders.setdefault(digest, []).append(repository_id)
        by_repository: dict[int, dict[str, list[_Review]]] = {}
        orphans: list[_Review] = []
        for review in reviews:
            targets = (
                [review.repository_id]
                if review.repository_id is not None
                else holders.get(review.digest, [])
            )
            if not targets:
                orphans.append(review)
            for repository_id in targets:
                by_repository.setdefault(repository_id, {}).setdefault(review.digest, []).append(
                    review
                )
        if orphans and not dry_run:
            await self._transaction(
                report, lambda s, _clock: _drop_reviews(s, orphans), what="orphans"
            )
        for repository_id, by_digest in sorted(by_repository.items()):
            digests = sorted(by_digest)
            for start in range(0, len(digests), self.batch):
                chunk = digests[start : start + self.batch]

                async def work(
                    session: AsyncSession,
                    clock: _Clock,
                    repository_id: int = repository_id,
                    chunk: list[str] = chunk,
                    by_digest: dict[str, list[_Review]] = by_digest,
                ) -> list[Collected]:
                    return await self._collect_manifests(
                        session, clock, repository_id, chunk, by_digest, report, dry_run=dry_run
                    )

                if dry_run:
                    async with self.sessionmaker() as session:
                        report.collected.extend(await work(session, _Clock()))
                    continue
                collected = await self._transaction(
                    report, work, what=f"{len(chunk)} manifests in repository {repository_id}"
                )
                if collected is None:
                    report.deferred += len(chunk)
                    continue
                report.collected.extend(collected)
                if collected and self.on_collected is not None:
                    self.on_collected(collected)

    async def _collect_manifests(
        self,
        session: AsyncSession,
        clock: _Clock,
        repository_id: int,
        digests: list[str],
        reviews: dict[str, list[_Review]],
        report: PassReport,
        *,
        dry_run: bool,
    ) -> list[Collected]:
        repository = await session.get(Repository, repository_id)
        if repository is None:
            if not dry_run:
                await _drop_reviews(session, [r for d in digests for r in reviews[d]])
            return []
        if not dry_run:
            await lock_repository(session, repository)  # what PUTs and tag changes take
            clock.locked()
        rows = (
            await session.execute(
                select(Manifest.id, Manifest.digest, Manifest.size, Manifest.subject_digest).where(
                    Manifest.repository_id == repository_id, Manifest.digest.in_(digests)
                )
            )
        ).all()
        kept = (
            await _kept_manifests(session, repository_id, rows)
            if self.collect_untagged
            else {digest for _, digest, _, _ in rows}
        )
        doomed = [(mid, digest, size) for mid, digest, size, _ in rows if digest not in kept]
        report.kept += len(kept)
        collected = [
            Collected("manifest", digest, size, repository.name, reviews[digest][0].reason)
            for _, digest, size in doomed
        ]
        if dry_run:
            return collected
        if doomed:
            ids = [mid for mid, _, _ in doomed]
            held = (
                await session.execute(
                    select(ManifestReference.role, ManifestReference.digest).where(
                        ManifestReference.manifest_id.in_(ids)
                    )
                )
            ).all()
            referrers = (
                await session.scalars(
                    select(Manifest.digest).where(
                        Manifest.repository_id == repository_id,
                        Manifest.subject_digest.in_([d for _, d, _ in doomed]),
                    )
                )
            ).all()
            # The namespace's lock before the rows go (the order manifest deletes take).
            await usage.lock_namespace(session, repository.namespace_id)
            await session.execute(
                delete(Manifest)
                .where(Manifest.id.in_(ids))
                .execution_options(synchronize_session=False)
            )
            await usage.release(
                session,
                repository.namespace_id,
                [("manifest", digest, size) for _, digest, size in doomed],
            )
            namespace = repository.name.split("/", 1)[0]
            await record_many(
                session,
                [
                    {
                        "actor": ACTOR,
                        "action": "gc.manifest.delete",
                        "subject": f"{repository.name}@{digest}",
                        "namespace": namespace,
                        "detail": {"size": size, "reason": reviews[digest][0].reason},
                    }
                    for _, digest, size in doomed
                ],
            )
            # The cascade: what these manifests held may now be unreferenced.
            await enqueue(
                session,
                [d for role, d in held if role == "manifest"] + list(referrers),
                kind="manifest",
                reason="gc.manifest.delete",
                delay=self.delay,
                repository_id=repository_id,
            )
            await enqueue(
                session,
                [d for role, d in held if role != "manifest"],
                kind="blob",
                reason="gc.manifest.delete",
                delay=self.delay,
            )
        await _drop_reviews(session, [r for d in digests for r in reviews[d]])
        return collected


async def _referenced_blobs(session: AsyncSession, digests: Iterable[str]) -> set[str]:
    wanted = list(digests)
    if not wanted:
        return set()
    rows = await session.scalars(
        select(ManifestReference.digest)
        .where(ManifestReference.digest.in_(wanted), ManifestReference.role != "manifest")
        .distinct()
    )
    return set(rows.all())


async def _blob_sizes(session: AsyncSession, digests: list[str]) -> dict[str, int]:
    if not digests:
        return {}
    rows = await session.execute(select(Blob.digest, Blob.size).where(Blob.digest.in_(digests)))
    return {digest: size for digest, size in rows.all()}  # noqa: C416


async def _kept_manifests(
    session: AsyncSession, repository_id: int, rows: Sequence[Any]
) -> set[str]:
    """Which of ``rows`` (id, digest, size, subject) a tag, an index or a subject keeps."""
    if not rows:
        return set()
    ids = [mid for mid, _, _, _ in rows]
    digests = [digest for _, digest, _, _ in rows]
    tagged_ids = set(
        (await session.scalars(select(Tag.manifest_id).where(Tag.manifest_id.in_(ids)))).all()
    )
    listed = set(
        (
            await session.scalars(
                select(ManifestReference.digest)
                .join(Manifest, Manifest.id == ManifestReference.manifest_id)
                .where(
                    Manifest.repository_id == repository_id,
                    ManifestReference.role == "manifest",
                    ManifestReference.digest.in_(digests),
                )
            )
        ).all()
    )
    subjects = [subject for _, _, _, subject in rows if subject is not None]
    present_subjects = (
        set(
            (
                await session.scalars(
                    select(Manifest.digest).where(
                        Manifest.repository_id == repository_id, Manifest.digest.in_(subjects)
                    )
                )
            ).all()
        )
        if subjects
        else set()
    )
    return {
        digest
        for mid, digest, _, subject in rows
        if mid in tagged_ids or digest in listed or (subject in present_subjects)
    }


async def _drop_reviews(session: AsyncSession, reviews: list[_Review]) -> None:
    """Delete these entries, and not a newer entry that reused one's id (SQLite can)."""
    if not reviews:
        return
    read_at = max(r.read_at for r in reviews)
    ids = [r.id for r in reviews]
    for start in range(0, len(ids), 500):
        await session.execute(
            delete(GcReview)
            .where(GcReview.id.in_(ids[start : start + 500]), GcReview.queued_at <= read_at)
            .execution_options(synchronize_session=False)
        )


async def _bounded_gather(calls: Iterable[Any], limit: int = 16) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Any) -> None:
        async with semaphore:
            await call

    await asyncio.gather(*(one(c) for c in calls))
