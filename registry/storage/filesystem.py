"""Filesystem blob store: content-addressed files under one directory.

A put streams into a private temporary file while hashing, in worker threads
pipelined with the event loop (receiving the next batch overlaps hashing and
writing the previous ones: both cores work), fsyncs, and renames into
``sha256/<2 hex>/<64 hex>`` only once the digest is verified. A mismatch, an
over-size stream, a client that vanishes or a crash leaves nothing visible.
Memory per put is bounded by two batches, whatever the blob's size.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import hashlib
import logging
import os
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from registry.digests import Digest
from registry.errors import BlobUnknown, DigestInvalid, PayloadTooLarge
from registry.storage.base import BlobStat

log = logging.getLogger(__name__)

_BATCH_BYTES = 4 * 1024 * 1024
_READ_BYTES = 1024 * 1024
_MAX_IN_FLIGHT = 8
_BATCH_CHUNKS = 512  # well under IOV_MAX (1024) for writev
_SYNC_EVERY = 64 * 1024 * 1024
_STALE_UPLOAD_SECONDS = 24 * 3600


class FilesystemBlobStore:
    """A :class:`~registry.storage.base.BlobStore` on a local directory."""

    def __init__(self, root: Path, *, executor: concurrent.futures.Executor | None = None) -> None:
        self.root = root
        self._tmp = root / "_uploads"
        self._executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="blobstore"
        )
        self._tmp.mkdir(parents=True, exist_ok=True)
        (root / "sha256").mkdir(parents=True, exist_ok=True)

    def path_for(self, digest: Digest) -> Path:
        # Only a validated Digest reaches here: the path cannot escape the root.
        return self.root / digest.algorithm / digest.hex[:2] / digest.hex

    # -- writing -----------------------------------------------------------------

    async def put(
        self,
        chunks: AsyncIterable[bytes],
        *,
        expected: Digest | None = None,
        max_bytes: int = 0,
    ) -> BlobStat:
        tmp = self._tmp / uuid.uuid4().hex
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        sink = _Sink(fd)
        size = 0
        batch: list[bytes] = []
        batch_bytes = 0
        committed = False
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_bytes and size > max_bytes:
                    raise PayloadTooLarge(
                        f"blob exceeds the {max_bytes}-byte limit set by CUSTODY_MAX_BLOB_BYTES"
                    )
                # Chunks are immutable bytes: batch them without copying.
                batch.append(chunk)
                batch_bytes += len(chunk)
                if batch_bytes >= _BATCH_BYTES or len(batch) >= _BATCH_CHUNKS:
                    await sink.feed(batch)
                    batch, batch_bytes = [], 0
            if batch:
                await sink.feed(batch)
            actual = Digest("sha256", await sink.finish())
            if expected is not None and actual != expected:
                raise DigestInvalid(
                    f"content does not match the digest given: expected {expected}, got {actual}"
                )
            await asyncio.wrap_future(self._executor.submit(self._commit, fd, tmp, actual))
            committed = True
            return BlobStat(actual, size)
        finally:
            sink.shutdown()  # waits for in-flight work: the lanes may still use fd
            if not committed:
                with contextlib.suppress(OSError):
                    os.close(fd)
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()

    def _commit(self, fd: int, tmp: Path, digest: Digest) -> None:
        os.close(fd)
        target = self.path_for(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            tmp.unlink()  # same bytes already stored: content addressing dedupes
            return
        tmp.replace(target)
        _fsync_dir(target.parent)

    # -- reading -----------------------------------------------------------------

    async def stat(self, digest: Digest) -> BlobStat | None:
        try:
            st = await asyncio.wrap_future(self._executor.submit(os.stat, self.path_for(digest)))
        except FileNotFoundError:
            return None
        return BlobStat(digest, st.st_size)

    async def open(
        self, digest: Digest, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.wrap_future(
                self._executor.submit(self.path_for(digest).open, "rb")
            )
        except FileNotFoundError:
            raise BlobUnknown(f"blob {digest} is not stored") from None
        try:
            position = start
            while end is None or position < end:
                want = _READ_BYTES if end is None else min(_READ_BYTES, end - position)
                data = await asyncio.wrap_future(
                    self._executor.submit(os.pread, handle.fileno(), want, position)
                )
                if not data:
                    break
                position += len(data)
                yield data
        finally:
            handle.close()

    async def delete(self, digest: Digest) -> bool:
        try:
            await asyncio.wrap_future(self._executor.submit(self.path_for(digest).unlink))
        except FileNotFoundError:
            return False
        return True

    async def ping(self) -> None:
        if not os.access(self._tmp, os.W_OK) or not os.access(self.root / "sha256", os.W_OK):
            raise OSError(f"blob directory {self.root} is not writable")

    def sweep_stale_uploads(self, older_than: float = _STALE_UPLOAD_SECONDS) -> int:
        """Remove temporary files left by a crash; they were never visible."""
        removed = 0
        cutoff = time.time() - older_than
        for entry in self._tmp.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
        return removed

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class _Sink:
    """Hash and write batches in two ordered lanes, each its own thread.

    hashlib and os.write both release the GIL, so hashing, writing and the event
    loop receiving the next batch all overlap. At most ``_MAX_IN_FLIGHT`` batches
    are queued (bounded memory; backpressure reaches the client through TCP).
    Every ``_SYNC_EVERY`` bytes the writer flushes to disk, so the final fsync
    is short and disk writeback overlaps the upload instead of following it.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.hasher = hashlib.sha256()
        self._hash_lane = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hash")
        self._write_lane = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="write")
        self._in_flight: collections.deque[concurrent.futures.Future[None]] = collections.deque()
        self._unsynced = 0

    async def feed(self, batch: list[bytes]) -> None:
        self._in_flight.append(self._hash_lane.submit(self._hash, batch))
        self._in_flight.append(self._write_lane.submit(self._write, batch))
        while len(self._in_flight) > 2 * _MAX_IN_FLIGHT:
            await asyncio.wrap_future(self._in_flight.popleft())

    async def finish(self) -> str:
        """Wait for every batch, fsync, and return the hex digest."""
        while self._in_flight:
            await asyncio.wrap_future(self._in_flight.popleft())
        await asyncio.wrap_future(self._write_lane.submit(os.fsync, self.fd))
        return self.hasher.hexdigest()

    def _hash(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self.hasher.update(chunk)

    def _write(self, batch: list[bytes]) -> None:
        total = sum(len(chunk) for chunk in batch)
        written = os.writev(self.fd, batch)
        if written < total:  # short write: finish the rest the slow way
            rest = memoryview(b"".join(batch))[written:]
            while rest:
                rest = rest[os.write(self.fd, rest) :]
        self._unsynced += total
        if self._unsynced >= _SYNC_EVERY:
            os.fdatasync(self.fd)
            self._unsynced = 0

    def shutdown(self) -> None:
        self._hash_lane.shutdown(wait=True, cancel_futures=True)
        self._write_lane.shutdown(wait=True, cancel_futures=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
