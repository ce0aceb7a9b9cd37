"""Filesystem blob store: content-addressed files under one directory.

A put streams into a private temporary file while hashing, in worker threads
pipelined with the event loop (receiving the next batch overlaps hashing and
writing the previous ones: both cores work), fsyncs, and renames into
``sha256/<2 hex>/<64 hex>`` only once the digest is verified. A mismatch, an
over-size stream, a client that vanishes, a full disk or a crash leaves nothing
visible. Memory per put is bounded by two batches, whatever the blob's size.

A full disk (``ENOSPC``, or a quota's ``EDQUOT``) raises
:class:`~registry.errors.InsufficientStorage` (507) after the partial file is
removed; :meth:`FilesystemBlobStore.ping` reports the store not ready once free
space falls below ``min_free_bytes``, so a load balancer stops sending pushes
before they fail.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import errno
import hashlib
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from pathlib import Path

from registry.digests import Digest
from registry.errors import (
    BlobUnknown,
    BlobUploadUnknown,
    DigestInvalid,
    InsufficientStorage,
    PayloadTooLarge,
    RangeInvalid,
)
from registry.storage.base import BlobInventory, BlobStat, UploadSweep

log = logging.getLogger(__name__)

_BATCH_BYTES = 4 * 1024 * 1024
_READ_BYTES = 1024 * 1024
_MAX_IN_FLIGHT = 8
_BATCH_CHUNKS = 512  # well under IOV_MAX (1024) for writev
_SYNC_EVERY = 64 * 1024 * 1024
_STALE_UPLOAD_SECONDS = 24 * 3600
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
_BLOB_NAME = re.compile(r"[0-9a-f]{64}")


@contextlib.contextmanager
def _full_disk_is_507(root: Path) -> Iterator[None]:
    """Turn a full disk into :class:`InsufficientStorage`; callers have cleaned up by then."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _FULL:
            raise
        raise InsufficientStorage(
            f"the blob store at {root} is out of space ({os.strerror(exc.errno or 0)}): "
            "nothing was stored; retry once an operator has freed space"
        ) from exc


class FilesystemBlobStore:
    """A :class:`~registry.storage.base.BlobStore` on a local directory."""

    def __init__(
        self,
        root: Path,
        *,
        executor: concurrent.futures.Executor | None = None,
        min_free_bytes: int = 0,
    ) -> None:
        self.root = root
        #: Below this much free space the store reports itself not ready (0: never).
        self.min_free_bytes = min_free_bytes
        self._tmp = root / "_uploads"
        self._sessions = root / "_sessions"
        # Upload sessions' running hashes, kept in this process: Python cannot save a
        # hash state, so a session continued on another replica (or after a restart)
        # is re-hashed from its file at the end instead (see ADR 0001).
        self._hashers: dict[str, tuple[hashlib._Hash, int]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="blobstore"
        )
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._sessions.mkdir(parents=True, exist_ok=True)
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
        with _full_disk_is_507(self.root):
            return await self._put(chunks, expected, max_bytes)

    async def _put(
        self, chunks: AsyncIterable[bytes], expected: Digest | None, max_bytes: int
    ) -> BlobStat:
        tmp = self._tmp / uuid.uuid4().hex
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        sink = _Sink(fd, hashlib.sha256())
        size = 0
        committed = False
        try:
            size = await _pump(chunks, sink, 0, max_bytes)
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

    # -- resumable uploads -------------------------------------------------------

    def _session_path(self, upload_id: str) -> Path:
        if len(upload_id) != 32 or not all(c in "0123456789abcdef" for c in upload_id):
            raise BlobUploadUnknown(f"upload {upload_id!r} is not known")
        return self._sessions / upload_id

    def _lock(self, upload_id: str) -> asyncio.Lock:
        return self._locks.setdefault(upload_id, asyncio.Lock())

    async def start_upload(self) -> str:
        upload_id = uuid.uuid4().hex
        path = self._sessions / upload_id
        with _full_disk_is_507(self.root):
            await asyncio.wrap_future(self._executor.submit(path.touch, 0o640, False))
        self._hashers[upload_id] = (hashlib.sha256(), 0)
        return upload_id

    async def upload_size(self, upload_id: str) -> int:
        path = self._session_path(upload_id)
        try:
            st = await asyncio.wrap_future(self._executor.submit(os.stat, path))
        except FileNotFoundError:
            raise BlobUploadUnknown(f"upload {upload_id} is not known") from None
        return st.st_size

    async def append_upload(
        self, upload_id: str, offset: int, chunks: AsyncIterable[bytes], *, max_bytes: int = 0
    ) -> int:
        path = self._session_path(upload_id)
        with _full_disk_is_507(self.root):
            return await self._append(upload_id, path, offset, chunks, max_bytes)

    async def _append(
        self,
        upload_id: str,
        path: Path,
        offset: int,
        chunks: AsyncIterable[bytes],
        max_bytes: int,
    ) -> int:
        async with self._lock(upload_id):
            current = await self.upload_size(upload_id)
            if offset != current:
                raise RangeInvalid(
                    f"chunk starts at byte {offset} but the upload has {current} bytes",
                    extra={"received": current},
                )
            cached = self._hashers.pop(upload_id, None)
            hasher = cached[0] if cached is not None and cached[1] == current else None
            fd = os.open(path, os.O_WRONLY)
            os.lseek(fd, current, os.SEEK_SET)
            sink = _Sink(fd, hasher, sync=False)
            try:
                size = await _pump(chunks, sink, current, max_bytes)
                await sink.drain()
            except BaseException:
                sink.shutdown()
                os.ftruncate(fd, current)  # a failed chunk leaves the session as it was
                raise
            finally:
                sink.shutdown()
                os.close(fd)
            if hasher is not None:
                self._hashers[upload_id] = (hasher, size)
            return size

    async def finish_upload(self, upload_id: str, expected: Digest) -> BlobStat:
        path = self._session_path(upload_id)
        with _full_disk_is_507(self.root):
            return await self._finish(upload_id, path, expected)

    async def _finish(self, upload_id: str, path: Path, expected: Digest) -> BlobStat:
        async with self._lock(upload_id):
            size = await self.upload_size(upload_id)
            cached = self._hashers.pop(upload_id, None)
            try:
                if cached is not None and cached[1] == size:
                    hex_digest = cached[0].hexdigest()
                else:
                    hex_digest = await asyncio.wrap_future(self._executor.submit(_hash_file, path))
                actual = Digest("sha256", hex_digest)
                if actual != expected:
                    raise DigestInvalid(
                        f"content does not match the digest given: expected {expected}, "
                        f"got {actual}"
                    )
                fd = os.open(path, os.O_WRONLY)
                await asyncio.wrap_future(self._executor.submit(os.fsync, fd))
                await asyncio.wrap_future(self._executor.submit(self._commit, fd, path, actual))
                return BlobStat(actual, size)
            finally:
                self._locks.pop(upload_id, None)
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    async def abort_upload(self, upload_id: str) -> None:
        path = self._session_path(upload_id)
        async with self._lock(upload_id):
            self._hashers.pop(upload_id, None)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._locks.pop(upload_id, None)

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
        if self.min_free_bytes:
            free = await asyncio.wrap_future(self._executor.submit(_free_bytes, self.root))
            if free < self.min_free_bytes:
                raise OSError(
                    f"{free} bytes free in {self.root}, below the floor of "
                    f"{self.min_free_bytes} bytes (CUSTODY_MIN_FREE_BYTES)"
                )

    async def inventory(self) -> BlobInventory:
        return await asyncio.wrap_future(self._executor.submit(self._inventory))

    def _inventory(self) -> BlobInventory:
        # String checks, not Digest and Path objects per file: fsck lists 100,000s of them.
        sizes: dict[str, int] = {}
        stray: list[str] = []
        tree = str(self.root / "sha256")
        for directory, _, names in os.walk(tree):
            relative = directory[len(tree) + 1 :]  # "ab" where blobs belong
            for name in names:
                if relative == name[:2] and _BLOB_NAME.fullmatch(name):
                    with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                        sizes[f"sha256:{name}"] = os.stat(f"{directory}/{name}").st_size  # noqa: PTH116
                else:
                    stray.append(f"sha256/{relative}/{name}" if relative else f"sha256/{name}")
        return BlobInventory(
            sizes,
            tuple(sorted(stray)),
            tuple(sorted(entry.name for entry in self._tmp.iterdir())),
            tuple(sorted(entry.name for entry in self._sessions.iterdir())),
        )

    def sweep_stale_uploads(self, older_than: float = _STALE_UPLOAD_SECONDS) -> int:
        """Remove temporary files left by a crash and abandoned sessions; never visible."""
        return self._sweep(time.time() - older_than, frozenset()).removed

    async def sweep_uploads(self, older_than: float) -> UploadSweep:
        # A session being appended to holds its lock; its file's mtime is fresh as well.
        busy = frozenset(upload for upload, lock in self._locks.items() if lock.locked())
        cutoff = time.time() - older_than
        swept = await asyncio.wrap_future(self._executor.submit(self._sweep, cutoff, busy))
        for upload_id in swept.sessions:
            self._hashers.pop(upload_id, None)
            lock = self._locks.get(upload_id)
            if lock is not None and not lock.locked():
                self._locks.pop(upload_id, None)
        return swept

    def _sweep(self, cutoff_time: float, busy: frozenset[str]) -> UploadSweep:
        # The cutoff is read by the caller, on the event loop's clock (one clock per purge).
        removed = 0
        sessions: list[str] = []
        cutoff = cutoff_time
        for entry in [*self._tmp.iterdir(), *self._sessions.iterdir()]:
            is_session = entry.parent == self._sessions
            if is_session and entry.name in busy:
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
                    if is_session:
                        sessions.append(entry.name)
        return UploadSweep(tuple(sorted(sessions)), removed)

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

    def __init__(self, fd: int, hasher: hashlib._Hash | None, *, sync: bool = True) -> None:
        self.fd = fd
        self.hasher = hasher
        self._sync = sync
        self._hash_lane = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hash")
        self._write_lane = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="write")
        self._in_flight: collections.deque[concurrent.futures.Future[None]] = collections.deque()
        self._unsynced = 0

    async def feed(self, batch: list[bytes]) -> None:
        if self.hasher is not None:
            self._in_flight.append(self._hash_lane.submit(self._hash, batch))
        self._in_flight.append(self._write_lane.submit(self._write, batch))
        while len(self._in_flight) > 2 * _MAX_IN_FLIGHT:
            await asyncio.wrap_future(self._in_flight.popleft())

    async def drain(self) -> None:
        """Wait until every batch fed so far is hashed and written."""
        while self._in_flight:
            await asyncio.wrap_future(self._in_flight.popleft())

    async def finish(self) -> str:
        """Wait for every batch, fsync, and return the hex digest."""
        await self.drain()
        await asyncio.wrap_future(self._write_lane.submit(os.fsync, self.fd))
        if self.hasher is None:  # pragma: no cover - puts always hash
            raise RuntimeError("finish() on a sink without a hasher")
        return self.hasher.hexdigest()

    def _hash(self, batch: list[bytes]) -> None:
        if self.hasher is None:  # pragma: no cover - only submitted with a hasher
            return
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
        if self._sync and self._unsynced >= _SYNC_EVERY:
            os.fdatasync(self.fd)
            self._unsynced = 0

    def shutdown(self) -> None:
        self._hash_lane.shutdown(wait=True, cancel_futures=True)
        self._write_lane.shutdown(wait=True, cancel_futures=True)


async def _pump(chunks: AsyncIterable[bytes], sink: _Sink, start: int, max_bytes: int) -> int:
    """Feed a stream into ``sink`` in batches; return the total size reached."""
    size = start
    batch: list[bytes] = []
    batch_bytes = 0
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
    return size


def _hash_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ_BYTES):
            hasher.update(block)
    return hasher.hexdigest()


def _free_bytes(directory: Path) -> int:
    """Space an unprivileged writer may still use (what a push can count on)."""
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
