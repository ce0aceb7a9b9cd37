"""The interface every blob backend implements.

Deliberately narrow (put by digest, open a byte range, stat, delete, list) so a
backend is easy to write and one shared test suite proves each of them.
A backend never makes content visible under a digest it has not verified.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from registry.digests import Digest


@dataclass(frozen=True, slots=True)
class BlobStat:
    digest: Digest
    size: int


@dataclass(frozen=True, slots=True)
class BlobInventory:
    """Everything a store holds, by kind: what consistency checks (and GC) compare."""

    #: Verified blobs: digest (``sha256:...``) to size.
    blobs: dict[str, int]
    #: Names in the blob tree that are not a digest in its place (a bug if any).
    stray: tuple[str, ...] = ()
    #: Monolithic uploads in flight or left by a crash (never visible as blobs).
    uploads: tuple[str, ...] = ()
    #: Ids of chunked upload sessions with bytes or a marker in the store.
    sessions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UploadSweep:
    """What :meth:`BlobStore.sweep_uploads` removed."""

    #: Ids of chunked upload sessions whose bytes and marker are gone now.
    sessions: tuple[str, ...] = ()
    #: Files or objects deleted, and multipart uploads aborted (sessions' included).
    removed: int = 0


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage of immutable byte strings."""

    async def put(
        self,
        chunks: AsyncIterable[bytes],
        *,
        expected: Digest | None = None,
        max_bytes: int = 0,
    ) -> BlobStat:
        """Store a stream; return its digest and size.

        The bytes become visible only if the stream ends normally and, when
        ``expected`` is given, hashes to it. Otherwise nothing is left behind and
        :class:`~registry.errors.DigestInvalid` (mismatch),
        :class:`~registry.errors.PayloadTooLarge` (over ``max_bytes``, if non-zero)
        or the stream's own error is raised.
        """
        ...

    async def stat(self, digest: Digest) -> BlobStat | None:
        """Size of a stored blob, or ``None`` if absent."""
        ...

    def open(self, digest: Digest, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes ``[start, end)`` (``end`` ``None`` = to the end).

        Raises :class:`~registry.errors.BlobUnknown` on first iteration if absent.
        """
        ...

    async def delete(self, digest: Digest) -> bool:
        """Remove a blob; ``True`` if it existed."""
        ...

    # -- resumable uploads (OCI chunked uploads) ---------------------------------

    async def start_upload(self) -> str:
        """Open an upload session; return its id (32 lowercase hex)."""
        ...

    async def append_upload(
        self, upload_id: str, offset: int, chunks: AsyncIterable[bytes], *, max_bytes: int = 0
    ) -> int:
        """Append a chunk that must start at ``offset``; return the new size.

        :class:`~registry.errors.RangeInvalid` if ``offset`` is not the current size;
        if the stream fails, the session is left exactly as it was before.
        """
        ...

    async def upload_size(self, upload_id: str) -> int:
        """Bytes received so far; :class:`~registry.errors.BlobUploadUnknown` if none."""
        ...

    async def finish_upload(self, upload_id: str, expected: Digest) -> BlobStat:
        """Verify the session's bytes against ``expected`` and make them a blob.

        The session is consumed either way: on a mismatch it is discarded.
        """
        ...

    async def abort_upload(self, upload_id: str) -> None:
        """Discard a session (no error if it is already gone)."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot currently serve (readiness)."""
        ...

    async def inventory(self) -> BlobInventory:
        """List what the store holds (reads every name, no content: for checks, not requests)."""
        ...

    async def sweep_uploads(self, older_than: float) -> UploadSweep:
        """Remove what uploads left with no activity for ``older_than`` seconds.

        Temporary files of monolithic uploads, multipart uploads begun before the
        cutoff, and chunked sessions whose last byte arrived before it; a session
        this process is appending to right now is kept, whatever its age. None of
        it was ever visible under a digest.
        """
        ...


@runtime_checkable
class PresignedDownloads(Protocol):
    """A store whose readers can fetch a blob's bytes without the registry (S3).

    The URL grants a plain GET of one blob (``Range`` honoured) until it expires;
    it is handed only to a caller who was just allowed to pull that blob.
    """

    async def download_url(self, digest: Digest, expires_seconds: int) -> str:
        """A time-limited URL for the blob's bytes (computed locally: no network call)."""
        ...
