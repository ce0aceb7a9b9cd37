"""Streaming one S3 object in multipart parts, for :mod:`registry.storage.s3`."""

from __future__ import annotations

import asyncio
import bisect
import collections
import concurrent.futures
import contextlib
import hashlib
import io
import itertools
from collections.abc import AsyncIterable
from typing import IO, TYPE_CHECKING, cast

from botocore.exceptions import ClientError

from registry.errors import PayloadTooLarge

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

    from registry.storage.s3 import S3BlobStore

__all__ = ["MAX_PARTS", "MIN_PART_BYTES", "PartWriter", "update_all"]

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's floor for every part but the last
MAX_PARTS = 10_000  # S3's ceiling on one multipart upload


class PartWriter:
    """Stream one object in parts; nothing is visible until :meth:`commit`.

    Up to ``store.parts_in_flight`` parts are sent at once while the next one
    fills (S3 takes parts in any order: each is numbered), so a writer holds
    about twice that many parts' worth of memory at its peak (each part's
    received chunks and the joined body being sent). Parts are hashed in order
    on the store's single hashing thread, alongside the sending.
    """

    def __init__(
        self,
        store: S3BlobStore,
        key: str,
        hasher: hashlib._Hash | None,
        *,
        upload_id: str | None = None,
        first_part: int = 1,
    ) -> None:
        """``upload_id``: add parts to that multipart upload (numbered from ``first_part``)
        instead of opening one; :meth:`discard` then leaves it open."""
        self.store = store
        self.key = key
        self.hasher = hasher
        self.size = 0
        self._batch: list[bytes] = []
        self._batched = 0
        self._created: concurrent.futures.Future[str] | None = None
        self._owns_upload = upload_id is None
        if upload_id is not None:
            self._created = concurrent.futures.Future()
            self._created.set_result(upload_id)
        self._parts: list[CompletedPartTypeDef] = []
        self._in_flight: collections.deque[concurrent.futures.Future[None]] = collections.deque()
        self._hashing: concurrent.futures.Future[None] | None = None
        self._numbered = first_part - 1
        # The batch's first chunk was received (and hashed) before: see preload().
        self._preloaded = False

    def preload(self, data: bytes) -> None:
        """Start the next part with ``data``, bytes received and hashed by an earlier
        writer: they are sent, not hashed again, and not counted in :attr:`size`."""
        if data:
            self._batch.append(data)
            self._batched += len(data)
            self._preloaded = True

    @property
    def upload_id(self) -> str | None:
        """The multipart upload the parts went to (``None`` before the first part)."""
        return None if self._created is None else self._created.result()

    @property
    def parts(self) -> list[CompletedPartTypeDef]:
        """The parts sent so far and acknowledged, in order."""
        return sorted(self._parts, key=lambda part: part["PartNumber"])

    def _unhashed(self, batch: list[bytes]) -> list[bytes]:
        """The chunks of ``batch`` this writer has yet to hash (all but a preload)."""
        if self._preloaded:
            self._preloaded = False
            return batch[1:]
        return batch

    async def write_all(self, chunks: AsyncIterable[bytes], start: int, max_bytes: int) -> None:
        async for chunk in chunks:
            if not chunk:
                continue
            self.size += len(chunk)
            if max_bytes and start + self.size > max_bytes:
                raise PayloadTooLarge(
                    f"blob exceeds the {max_bytes}-byte limit set by CUSTODY_MAX_BLOB_BYTES"
                )
            self._batch.append(chunk)  # immutable bytes: batched without copying
            self._batched += len(chunk)
            if self._batched >= self.store.part_bytes:
                await self._send_batch(hash_it=True)

    async def _send_batch(self, *, hash_it: bool) -> None:
        batch, self._batch, self._batched = self._batch, [], 0
        while len(self._in_flight) >= self.store.parts_in_flight:
            await self._settle_oldest()
        store = self.store
        if self._numbered >= MAX_PARTS:
            raise PayloadTooLarge(
                f"an S3 multipart upload holds at most {MAX_PARTS} parts of at least "
                f"{MIN_PART_BYTES // (1024 * 1024)} MiB: send this blob in larger chunks"
            )
        fresh = self._unhashed(batch)
        if hash_it and self.hasher is not None:
            # One hashing thread for the store: the parts of a writer are hashed in order.
            self._hashing = store._hash_lane.submit(_hash_and_drop, self.hasher, list(fresh))
        if self._created is None:  # the first part opens the upload
            self._created = store._executor.submit(self._create)
        self._numbered += 1
        self._in_flight.append(store._executor.submit(self._send_part, batch, self._numbered))

    def _create(self) -> str:
        store = self.store
        return store.client.create_multipart_upload(Bucket=store.bucket, Key=self.key)["UploadId"]

    def _send_part(self, batch: list[bytes], number: int) -> None:
        """Worker side: send one numbered part of the upload opened by :meth:`_create`."""
        assert self._created is not None
        upload_id = self._created.result()  # submitted first: it ran before this job
        body = ChunksBody(batch)  # not joined: a part is held once, as it was received
        sent = self.store.client.upload_part(
            Bucket=self.store.bucket,
            Key=self.key,
            UploadId=upload_id,
            PartNumber=number,
            Body=cast("IO[bytes]", body),
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    async def _settle_oldest(self) -> None:
        """Wait for the oldest part in flight; re-raise its failure.

        A job stays recorded until it has succeeded, so a writer cancelled or
        failed meanwhile still waits for it in :meth:`discard`.
        """
        await asyncio.wrap_future(self._in_flight[0])
        self._in_flight.popleft()

    async def _settle(self) -> None:
        """Wait for every part in flight and the hashing; re-raise any failure."""
        while self._in_flight:
            await self._settle_oldest()
        if self._hashing is not None:
            await asyncio.wrap_future(self._hashing)
            self._hashing = None

    async def hexdigest(self) -> str:
        """The digest of everything written (waits for the parts in flight)."""
        await self._settle()
        if self.hasher is None:  # pragma: no cover - only puts ask
            raise RuntimeError("hexdigest() on a writer without a hasher")
        hasher = self.hasher
        rest = self._unhashed(self._batch)
        await asyncio.wrap_future(self.store._hash_lane.submit(update_all, hasher, rest))
        return hasher.hexdigest()

    async def flush_parts(self) -> bytes:
        """Hash what is left, send it as a last part if S3 takes it as a middle part
        (``MIN_PART_BYTES`` or more), wait for every part; return what was not sent."""
        await self._settle()
        rest = self._unhashed(self._batch)
        if self.hasher is not None and rest:
            await asyncio.wrap_future(self.store._hash_lane.submit(update_all, self.hasher, rest))
        if self._batched >= MIN_PART_BYTES:
            await self._send_batch(hash_it=False)
            await self._settle()
            return b""
        tail = b"".join(self._batch)
        self._batch, self._batched = [], 0
        return tail

    async def commit(self, target: str) -> None:
        """Make the bytes visible under ``target`` (the key they were sent to, or a copy)."""
        store = self.store
        await self._settle()
        if self._created is None:  # it all fit in one part: one PUT, atomic
            tail = b"".join(self._batch)
            self._batch, self._batched = [], 0
            await store._call(store.client.put_object, Bucket=store.bucket, Key=target, Body=tail)
            return
        if self._batch:  # already hashed by hexdigest(), if this writer hashes
            await self._send_batch(hash_it=False)
            await self._settle()
        upload_id = await asyncio.wrap_future(self._created)
        await store._call(
            store.client.complete_multipart_upload,
            Bucket=store.bucket,
            Key=self.key,
            UploadId=upload_id,
            MultipartUpload={"Parts": sorted(self._parts, key=lambda part: part["PartNumber"])},
        )
        self._created = None
        if target != self.key:  # staged under a temporary key: copy, then drop the stage
            try:
                await store._call(
                    store.client.copy,
                    {"Bucket": store.bucket, "Key": self.key},
                    store.bucket,
                    target,
                )
            finally:
                await store._call(store.client.delete_object, Bucket=store.bucket, Key=self.key)

    async def discard(self) -> None:
        """Abort the multipart upload, if any: its parts were never visible."""
        self._batch, self._batched = [], 0
        pending = [*self._in_flight, *([self._hashing] if self._hashing else [])]
        self._in_flight.clear()
        self._hashing = None
        if pending:
            await asyncio.wait([asyncio.wrap_future(job) for job in pending])
        created, self._created = self._created, None
        if created is None or not self._owns_upload:
            return
        await asyncio.wait([asyncio.wrap_future(created)])
        if created.exception() is None:
            with contextlib.suppress(ClientError):
                await self.store._call(
                    self.store.client.abort_multipart_upload,
                    Bucket=self.store.bucket,
                    Key=self.key,
                    UploadId=created.result(),
                )


class ChunksBody(io.RawIOBase):
    """A seekable file over a list of byte strings, without joining them.

    botocore reads a body twice (to sign it, then to send it) and seeks back
    between; this serves both from the chunks as they were received.
    """

    def __init__(self, chunks: list[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._starts = [0, *itertools.accumulate(len(chunk) for chunk in chunks)]
        self._size = self._starts[-1]
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        target = memoryview(buffer)
        filled = 0
        while filled < len(target) and self._position < self._size:
            index = bisect.bisect_right(self._starts, self._position) - 1
            chunk = self._chunks[index]
            within = self._position - self._starts[index]
            count = min(len(target) - filled, len(chunk) - within)
            target[filled : filled + count] = memoryview(chunk)[within : within + count]
            filled += count
            self._position += count
        return filled


def update_all(hasher: hashlib._Hash, chunks: list[bytes]) -> None:
    for chunk in chunks:
        hasher.update(chunk)


def _hash_and_drop(hasher: hashlib._Hash, chunks: list[bytes]) -> None:
    update_all(hasher, chunks)
    chunks.clear()
