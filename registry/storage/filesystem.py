"""Filesystem blob store: content-addressed files under one directory.

A put streams into a private temporary file while hashing, in a worker thread
pipelined with the event loop (so receiving the next batch overlaps hashing and
writing the previous one: both cores work), fsyncs, and renames into
``sha256/<2 hex>/<64 hex>`` only once the digest is verified. A mismatch, an
over-size stream, a client that vanishes or a crash leaves nothing visible.
Memory per put is bounded by two batches, whatever the blob's size.
"""

from __future__ import annotations

import asyncio
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

_BATCH_BYTES = 1024 * 1024
_READ_BYTES = 1024 * 1024
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
        hasher = hashlib.sha256()
        size = 0
        pending: concurrent.futures.Future[None] | None = None
        buffer = bytearray()
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
                buffer += chunk
                if len(buffer) >= _BATCH_BYTES:
                    if pending is not None:
                        await asyncio.wrap_future(pending)
                    batch, buffer = buffer, bytearray()
                    pending = self._executor.submit(_absorb, fd, hasher, batch)
            if pending is not None:
                await asyncio.wrap_future(pending)
                pending = None
            if buffer:
                await asyncio.wrap_future(self._executor.submit(_absorb, fd, hasher, buffer))
            await asyncio.wrap_future(self._executor.submit(os.fsync, fd))
            actual = Digest("sha256", hasher.hexdigest())
            if expected is not None and actual != expected:
                raise DigestInvalid(
                    f"content does not match the digest given: expected {expected}, got {actual}"
                )
            await asyncio.wrap_future(self._executor.submit(self._commit, fd, tmp, actual))
            committed = True
            return BlobStat(actual, size)
        finally:
            if not committed:
                # The worker may still be writing to fd: wait for it before closing.
                if pending is not None:
                    concurrent.futures.wait([pending])
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


def _absorb(fd: int, hasher: hashlib._Hash, data: bytearray) -> None:
    # hashlib releases the GIL for large buffers, so this overlaps the event loop.
    hasher.update(data)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
