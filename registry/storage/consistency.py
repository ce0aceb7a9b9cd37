"""Do the database and the blob store agree? (shared by tests, soaks and fsck)

The registry's promise after any crash: every blob and manifest it acknowledged
is intact, and nothing partial is visible under a digest. This module checks
that promise from the outside, on a stopped or idle registry, and sorts what it
finds into two kinds:

**Inconsistencies** (a broken promise; each is a bug):

* a ``blobs`` row whose file (or object) is missing, or has another size;
* a file under ``sha256/`` whose bytes do not hash to its name (only with
  ``verify_digests``: it reads every byte) or whose name is not a digest;
* a manifest reference (config or layer) to a digest with no ``blobs`` row.

**Leftovers** (expected after a crash; garbage collection's work, not a bug):

* orphan blob files: a verified file with no row, from an upload killed after
  its bytes were stored but before its row was committed, never acknowledged;
* temporary files of monolithic uploads in flight (``_uploads/``, and on S3
  multipart uploads never completed);
* chunked-upload files with no ``upload_sessions`` row, and rows whose file is
  gone (a session consumed by a close that was killed before its commit).

Example::

    report = await check_consistency(session, open_blob_store(settings.blob_dir))
    for line in report.inconsistencies:
        print(line)
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import Blob, Manifest, ManifestReference, UploadSession
from registry.digests import Digest
from registry.errors import BlobUnknown
from registry.storage.base import BlobStore

__all__ = ["ConsistencyReport", "check_consistency", "corrupt_blobs"]

_READERS = 8


@dataclass(frozen=True, slots=True)
class ConsistencyReport:
    """What :func:`check_consistency` found; sorted tuples of digests and file names."""

    blob_rows: int = 0
    blob_files: int = 0
    # inconsistencies
    missing_files: tuple[str, ...] = ()
    wrong_sizes: tuple[tuple[str, int, int], ...] = ()  # (digest, row size, file size)
    corrupt_files: tuple[str, ...] = ()
    stray_files: tuple[str, ...] = ()
    dangling_references: tuple[tuple[str, str], ...] = ()  # (manifest, missing blob)
    # leftovers
    orphan_files: tuple[str, ...] = ()
    upload_temp_files: tuple[str, ...] = ()
    orphan_session_files: tuple[str, ...] = ()
    sessions_without_file: tuple[str, ...] = field(default=())
    # rows marked lost (``blobs.missing_since``) by an earlier ``fsck --repair``
    marked_missing: tuple[str, ...] = ()

    @property
    def inconsistencies(self) -> list[str]:
        """One line per broken promise; empty when the store is consistent."""
        return [
            *(f"blob {d} has a row but no file" for d in self.missing_files),
            *(
                f"blob {d} has a row of {row} bytes but a file of {size}"
                for d, row, size in self.wrong_sizes
            ),
            *(f"file of blob {d} does not hash to its name" for d in self.corrupt_files),
            *(f"file {n} in the blob tree is not named by a digest" for n in self.stray_files),
            *(
                f"manifest {m} references blob {d}, which has no row"
                for m, d in self.dangling_references
            ),
        ]

    @property
    def leftovers(self) -> dict[str, int]:
        """Counts of expected leftovers (garbage for a future GC), by kind."""
        return {
            "orphan_files": len(self.orphan_files),
            "upload_temp_files": len(self.upload_temp_files),
            "orphan_session_files": len(self.orphan_session_files),
            "sessions_without_file": len(self.sessions_without_file),
        }

    @property
    def consistent(self) -> bool:
        return not self.inconsistencies


async def corrupt_blobs(
    store: BlobStore, digests: Iterable[str], *, readers: int = _READERS
) -> tuple[str, ...]:
    """The blobs whose bytes, read back through the store, do not hash to their digest.

    ``readers`` blobs are read at once, each streamed in the store's chunks: memory
    stays bounded by ``readers`` chunks whatever the blobs' sizes. A blob deleted
    meanwhile is not reported (it is not corrupt, it is gone).
    """
    corrupt: list[str] = []
    pending = iter(digests)

    async def reader() -> None:
        for name in pending:  # one shared iterator: each digest is read once
            hasher = hashlib.sha256()
            try:
                async for chunk in store.open(Digest.parse(name)):
                    hasher.update(chunk)
            except BlobUnknown:
                continue
            if f"sha256:{hasher.hexdigest()}" != name:
                corrupt.append(name)

    await asyncio.gather(*(reader() for _ in range(max(1, readers))))
    return tuple(sorted(corrupt))


async def check_consistency(
    session: AsyncSession, store: BlobStore, *, verify_digests: bool = True
) -> ConsistencyReport:
    """Compare the ``blobs``, manifest reference and upload session rows with ``store``'s content.

    Run it on a stopped or idle registry: an upload that finishes during the
    check can show up as an orphan file or a missing one. ``verify_digests``
    re-hashes every blob (reads the whole store).
    """
    files = await store.inventory()
    rows: dict[str, int] = {}
    marked: list[str] = []
    for digest, size, missing_since in await session.execute(
        select(Blob.digest, Blob.size, Blob.missing_since)
    ):
        rows[digest] = size
        if missing_since is not None:
            marked.append(digest)
    references = await session.execute(
        select(Manifest.digest, ManifestReference.digest)
        .join(Manifest, Manifest.id == ManifestReference.manifest_id)
        .where(ManifestReference.role != "manifest")
    )
    session_ids = set((await session.scalars(select(UploadSession.id))).all())
    return ConsistencyReport(
        blob_rows=len(rows),
        blob_files=len(files.blobs),
        missing_files=tuple(sorted(d for d in rows if d not in files.blobs)),
        wrong_sizes=tuple(
            sorted(
                (d, size, files.blobs[d])
                for d, size in rows.items()
                if d in files.blobs and files.blobs[d] != size
            )
        ),
        corrupt_files=await corrupt_blobs(store, sorted(files.blobs)) if verify_digests else (),
        stray_files=files.stray,
        dangling_references=tuple(sorted({(m, d) for m, d in references if d not in rows})),
        orphan_files=tuple(sorted(d for d in files.blobs if d not in rows)),
        upload_temp_files=files.uploads,
        orphan_session_files=tuple(s for s in files.sessions if s not in session_ids),
        sessions_without_file=tuple(sorted(s for s in session_ids if s not in files.sessions)),
        marked_missing=tuple(sorted(marked)),
    )
