"""Streaming one S3 object in multipart parts, for :mod:`registry.storage.s3`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from registry.errors import PayloadTooLarge

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

    from registry.storage.s3 import S3BlobStore

__all__ = ["PartWriter", "update_all"]


class PartWriter:
    """Stream one object in parts; nothing is visible until :meth:`commit`.

    At most one part is in flight while the next one fills, so a writer holds
    about three parts' worth of memory at its peak (filling, joined, sending).
    Each part is hashed in the worker just before it is sent, in order.
    """

    def __init__(self, store: S3BlobStore, key: str, hasher: hashlib._Hash | None) -> None:
        self.store = store
        self.key = key
        self.hasher = hasher
        self.size = 0
        self._batch: list[bytes] = []
        self._batched = 0
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._in_flight: concurrent.futures.Future[None] | None = None

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
                await self._send_batch()

    async def _send_batch(self) -> None:
        batch, self._batch, self._batched = self._batch, [], 0
        await self._settle()
        self._in_flight = self.store._executor.submit(self._send_part, batch, True)

    def _send_part(self, batch: list[bytes], hash_it: bool) -> None:
        """Worker side: hash (in order), then send; the first part opens the upload.

        Every change of the upload's state happens here, in the job in flight,
        so :meth:`discard` sees it all once that job is done.
        """
        store = self.store
        body = b"".join(batch)
        batch.clear()
        if hash_it and self.hasher is not None:
            self.hasher.update(body)
        if self._upload_id is None:
            created = store.client.create_multipart_upload(Bucket=store.bucket, Key=self.key)
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        sent = store.client.upload_part(
            Bucket=store.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    async def _settle(self) -> None:
        """Wait for the part in flight; re-raise its failure.

        The job stays recorded until it has succeeded, so a writer cancelled or
        failed meanwhile still waits for it in :meth:`discard`.
        """
        if self._in_flight is not None:
            await asyncio.wrap_future(self._in_flight)
            self._in_flight = None

    async def hexdigest(self) -> str:
        """The digest of everything written (waits for the part in flight)."""
        await self._settle()
        if self.hasher is None:  # pragma: no cover - only puts ask
            raise RuntimeError("hexdigest() on a writer without a hasher")
        hasher = self.hasher
        await self.store._call(update_all, hasher, self._batch)
        return hasher.hexdigest()

    async def commit(self, target: str) -> None:
        """Make the bytes visible under ``target`` (the key they were sent to, or a copy)."""
        store = self.store
        await self._settle()
        tail = b"".join(self._batch)
        self._batch, self._batched = [], 0
        if self._upload_id is None:  # it all fit in one part: one PUT, atomic
            await store._call(store.client.put_object, Bucket=store.bucket, Key=target, Body=tail)
            return
        if tail:  # already hashed by hexdigest(), if this writer hashes
            self._in_flight = store._executor.submit(self._send_part, [tail], False)
            await self._settle()
        await store._call(
            store.client.complete_multipart_upload,
            Bucket=store.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )
        self._upload_id = None
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
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            await asyncio.wait([asyncio.wrap_future(in_flight)])
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            with contextlib.suppress(ClientError):
                await self.store._call(
                    self.store.client.abort_multipart_upload,
                    Bucket=self.store.bucket,
                    Key=self.key,
                    UploadId=upload_id,
                )


def update_all(hasher: hashlib._Hash, chunks: list[bytes]) -> None:
    for chunk in chunks:
        hasher.update(chunk)
