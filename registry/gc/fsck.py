"""``fsck``: does the metadata database agree with the blob store? Optionally, repair what may be.

The comparison is :func:`registry.storage.consistency.check_consistency` (one listing
of the store, one read of the ``blobs`` rows); this module sorts what it finds into
problems and leftovers, and with ``repair``:

* queues every **orphan object** (bytes in the store, no ``blobs`` row) for the
  collector's review (:func:`registry.gc.queue.enqueue`, ``reason="fsck orphan"``)
  after ``gc_delay``; an orphan already waiting in the queue is not queued twice;
* marks every **lost blob** (row with no object, an object of another size, or
  bytes that no longer hash to the digest) with ``blobs.missing_since``: the
  ``/v2/`` API then answers ``BLOB_UNKNOWN`` (404) for it, so a client pushes
  it again instead of reading a broken stream, and that push clears the mark;
* clears the mark of a blob whose object is back, with the right size and bytes
  (marked blobs found present are always re-hashed, even without ``verify_digests``);
* recounts every namespace whose **usage counter** (``namespaces.usage_bytes``,
  :mod:`registry.oci.usage`) differs from what its rows add up to. Every write keeps
  the counter exact, so a drift means a write made outside Custody (a restored
  backup, a hand edit); it is read under the namespace's lock (PostgreSQL) or in one
  snapshot (SQLite), so a push running meanwhile is never taken for one.

Everything the repair writes is one transaction, with one audit event
(``fsck.repair``). Nothing is ever deleted here: deletion is the collector's.

Example::

    report = await fsck(sessionmaker, store, verify_digests=True, repair=True)
    for line in report.problems:
        print(line)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.audit.service import record
from registry.db.models import Blob, GcReview, Namespace
from registry.db.types import utcnow
from registry.digests import Digest
from registry.gc.queue import enqueue
from registry.oci import usage
from registry.storage.base import BlobStore
from registry.storage.consistency import ConsistencyReport, check_consistency, corrupt_blobs

__all__ = ["ORPHAN_REASON", "FsckReport", "Repairs", "UsageDrift", "fsck"]

#: The ``gc_reviews.reason`` of orphans queued by a repair.
ORPHAN_REASON = "fsck orphan"
#: Who the audit trail names for a repair.
ACTOR = "custody:fsck"
#: How long a queued orphan waits before the collector may review it.
DEFAULT_GC_DELAY = timedelta(hours=24)
_NAMED = 50
_IN_BATCH = 500  # digests per IN (...) list: well under every engine's parameter limit


@dataclass(frozen=True, slots=True)
class Repairs:
    """What ``fsck(repair=True)`` wrote (sorted digests)."""

    queued_orphans: tuple[str, ...] = ()
    already_queued: tuple[str, ...] = ()
    marked_missing: tuple[str, ...] = ()
    cleared_missing: tuple[str, ...] = ()
    #: Namespaces whose usage counter was recounted.
    recounted_usage: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UsageDrift:
    """A namespace whose usage counter is not what its rows add up to."""

    namespace: str
    counter_bytes: int
    computed_bytes: int


@dataclass(frozen=True, slots=True)
class FsckReport:
    """The comparison, what it means, and the repairs made (``None`` without ``repair``)."""

    checked: ConsistencyReport
    verified_digests: bool
    #: Blobs marked missing whose object is back, intact.
    found_again: tuple[str, ...] = ()
    usage_drift: tuple[UsageDrift, ...] = ()
    repairs: Repairs | None = None

    @property
    def lost(self) -> tuple[str, ...]:
        """Blobs with a row whose bytes are gone or damaged (missing, resized, corrupt)."""
        c = self.checked
        rows_damaged = set(c.missing_files) | {d for d, _, _ in c.wrong_sizes}
        orphans = set(c.orphan_files)
        rows_damaged |= {d for d in c.corrupt_files if d not in orphans}
        return tuple(sorted(rows_damaged))

    @property
    def problems(self) -> list[str]:
        """One line per problem: a broken promise, an orphan object, or a stale mark."""
        marked = set(self.checked.marked_missing)
        lines = [
            line + (" (marked missing)" if line.split()[1] in marked else "")
            if line.startswith("blob ")
            else line
            for line in self.checked.inconsistencies
        ]
        lines += [
            f"object {d} has no blob row (orphan: garbage once reviewed)"
            for d in self.checked.orphan_files
        ]
        lines += [f"blob {d} is marked missing but its object is back" for d in self.found_again]
        lines += [
            f"namespace {u.namespace} usage counter says {u.counter_bytes} bytes, its rows add "
            f"up to {u.computed_bytes}"
            for u in self.usage_drift
        ]
        return lines

    @property
    def leftovers(self) -> list[str]:
        """Upload state a crash or an abandoned upload left (the server purges it)."""
        c = self.checked
        return [
            *(f"temporary upload {name}" for name in c.upload_temp_files),
            *(f"upload session {s} in the store has no row" for s in c.orphan_session_files),
            *(f"upload session row {s} has nothing in the store" for s in c.sessions_without_file),
        ]

    @property
    def clean(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        c = self.checked
        return {
            "blob_rows": c.blob_rows,
            "objects": c.blob_files,
            "orphans": len(c.orphan_files),
            "missing": len(c.missing_files),
            "size_mismatches": len(c.wrong_sizes),
            "corrupt": len(c.corrupt_files),
            "stray": len(c.stray_files),
            "dangling_references": len(c.dangling_references),
            "found_again": len(self.found_again),
            "usage_drift": len(self.usage_drift),
            "upload_leftovers": len(self.leftovers),
            "problems": len(self.problems),
        }

    def as_json(self) -> dict[str, Any]:
        """The report as one JSON object (``custody fsck --json``)."""
        c = self.checked
        marked = set(c.marked_missing)
        repairs = self.repairs
        return {
            "ok": self.clean,
            "verified_digests": self.verified_digests,
            "counts": self.counts(),
            "orphans": list(c.orphan_files),
            "missing": [{"digest": d, "marked": d in marked} for d in c.missing_files],
            "size_mismatches": [
                {"digest": d, "row_size": row, "object_size": size}
                for d, row, size in c.wrong_sizes
            ],
            "corrupt": list(c.corrupt_files),
            "stray": list(c.stray_files),
            "dangling_references": [{"manifest": m, "blob": d} for m, d in c.dangling_references],
            "found_again": list(self.found_again),
            "usage_drift": [
                {"namespace": u.namespace, "counter": u.counter_bytes, "computed": u.computed_bytes}
                for u in self.usage_drift
            ],
            "upload_leftovers": {
                "temporary": list(c.upload_temp_files),
                "sessions_without_row": list(c.orphan_session_files),
                "rows_without_session": list(c.sessions_without_file),
            },
            "repair": None
            if repairs is None
            else {
                "queued_orphans": list(repairs.queued_orphans),
                "already_queued": list(repairs.already_queued),
                "marked_missing": list(repairs.marked_missing),
                "cleared_missing": list(repairs.cleared_missing),
                "recounted_usage": list(repairs.recounted_usage),
            },
        }


async def fsck(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: BlobStore,
    *,
    verify_digests: bool = False,
    repair: bool = False,
    gc_delay: timedelta = DEFAULT_GC_DELAY,
) -> FsckReport:
    """Compare the database with ``store``; with ``repair``, queue orphans and (un)mark lost blobs.

    ``verify_digests`` reads and re-hashes every object (a scrub; memory stays
    bounded by a few read chunks). Run it on an idle registry for an exact answer;
    on a busy one an upload finishing meanwhile may show up as an orphan, which the
    collector's re-check (after ``gc_delay``) then leaves alone.
    """
    async with sessionmaker() as session:
        checked = await check_consistency(session, store, verify_digests=verify_digests)
        await session.rollback()
    absent = set(checked.missing_files) | {d for d, _, _ in checked.wrong_sizes}
    back = [d for d in checked.marked_missing if d not in absent]
    if verify_digests:
        corrupt = set(checked.corrupt_files)
        found_again = tuple(d for d in back if d not in corrupt)
    else:  # a mark is cleared only on bytes seen intact
        damaged = set(await corrupt_blobs(store, back))
        found_again = tuple(d for d in back if d not in damaged)
    drift = await _usage_drift(sessionmaker)
    report = FsckReport(checked, verify_digests, found_again, drift)
    if not repair:
        return report
    async with sessionmaker() as session:
        repairs = await _repair(session, store, report, gc_delay)
        await session.commit()
    return FsckReport(checked, verify_digests, found_again, drift, repairs)


async def _usage_drift(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[UsageDrift, ...]:
    """Each namespace's counter against its rows, one short transaction per namespace."""
    async with sessionmaker() as session:
        namespaces = (await session.execute(select(Namespace.id, Namespace.name))).all()
        await session.rollback()
    drift = []
    for namespace_id, name in sorted(namespaces, key=lambda row: row[1]):
        async with sessionmaker() as session:
            if session.get_bind().dialect.name == "postgresql":
                await usage.lock_namespace(session, namespace_id)  # a row lock: reads only
            # SQLite: both reads below are one read transaction, hence one snapshot.
            counter = await session.scalar(
                select(Namespace.usage_bytes).where(Namespace.id == namespace_id)
            )
            computed = await usage.computed(session, namespace_id)
            await session.rollback()
        if counter is not None and int(counter) != computed:
            drift.append(UsageDrift(name, int(counter), computed))
    return tuple(drift)


async def _repair(
    session: AsyncSession, store: BlobStore, report: FsckReport, gc_delay: timedelta
) -> Repairs:
    orphans = report.checked.orphan_files
    waiting: set[str] = set()
    for batch in _batches(orphans):
        waiting.update(
            await session.scalars(
                select(GcReview.digest).where(GcReview.kind == "blob", GcReview.digest.in_(batch))
            )
        )
    queue = [d for d in orphans if d not in waiting]
    await enqueue(session, queue, kind="blob", reason=ORPHAN_REASON, delay=gc_delay)
    marked = set(report.checked.marked_missing)
    to_mark = []
    wrong_size = {d: row for d, row, _ in report.checked.wrong_sizes}
    for digest in report.lost:
        if digest in marked:
            continue
        # Look once more: a push of the same bytes may have brought the object back.
        stat = await store.stat(Digest.parse(digest))
        if stat is None or digest in wrong_size or digest in report.checked.corrupt_files:
            to_mark.append(digest)
    now = utcnow()
    for batch in _batches(to_mark):
        await session.execute(
            update(Blob)
            .where(Blob.digest.in_(batch), Blob.missing_since.is_(None))
            .values(missing_since=now)
        )
    for batch in _batches(report.found_again):
        await session.execute(update(Blob).where(Blob.digest.in_(batch)).values(missing_since=None))
    recounted = []
    for drifted in report.usage_drift:
        namespace_id = await session.scalar(
            select(Namespace.id).where(Namespace.name == drifted.namespace)
        )
        if namespace_id is not None:
            await usage.recount(session, namespace_id)  # under its lock: exact again
            recounted.append(drifted.namespace)
    repairs = Repairs(
        queued_orphans=tuple(queue),
        already_queued=tuple(sorted(waiting)),
        marked_missing=tuple(to_mark),
        cleared_missing=report.found_again,
        recounted_usage=tuple(recounted),
    )
    if queue or to_mark or report.found_again or recounted:
        await record(
            session,
            actor=ACTOR,
            action="fsck.repair",
            subject="blob store",
            detail={
                "queued_orphans": len(queue),
                "marked_missing": len(to_mark),
                "cleared_missing": len(report.found_again),
                "recounted_usage": recounted,
                # the first few by name; the JSON report of the run lists them all
                "marked": to_mark[:_NAMED],
                "cleared": list(report.found_again[:_NAMED]),
                "gc_delay_seconds": int(gc_delay.total_seconds()),
            },
        )
    return repairs


def _batches(items: Sequence[str] | Iterable[str]) -> Iterable[list[str]]:
    listed = list(items)
    for start in range(0, len(listed), _IN_BATCH):
        yield listed[start : start + _IN_BATCH]
