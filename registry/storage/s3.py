"""S3-compatible blob store: content-addressed objects in one bucket, under a prefix.

Layout under ``<prefix>``::

    sha256/<2 hex>/<64 hex>          verified blobs, the only keys readers use
    _uploads/<32 hex>                a large put whose digest was not given in advance
    _sessions/<id>/session           marker of a chunked upload session
    _sessions/<id>/<20-digit offset>-<tag>  one object per appended chunk

S3 makes an object visible atomically when its PUT or CompleteMultipartUpload
returns, never in part. A put streams in parts of ``part_bytes`` (multipart
upload; at most ``parts_in_flight`` parts sent at once and one filling, each
held once as it was received, so memory is bounded by a few parts whatever the
blob's size), hashing the parts in order on one thread while they are sent.
Only once the whole stream is hashed and matches is the multipart upload
completed; otherwise it is aborted and nothing was ever visible. When the
digest is known in advance the parts go straight to the blob's key; when it is
not, they go to a staging key under ``_uploads/`` and are copied server-side to
the blob's key once the digest is known. A blob that fits in one part is sent
with a single PUT after it is verified.

Chunked upload sessions live in the bucket, so any replica can continue one:
each append is its own object (visible only when complete, so a failed append
leaves the session as it was), named by its offset and a random tag
(``<20-digit offset>-<tag>``), so no append, on any replica, ever overwrites
another's object. The running digest is kept in the process that received the
appends, together with the exact chunk keys it covers; Python cannot save a
hash state in the bucket, so a session continued elsewhere (or after a
restart, or raced by another replica) is re-hashed at its close by reading its
chunks back, with bounded memory. The cached digest is used only when the
session's chain of chunks is exactly the keys it was computed over: the bytes
joined under a digest are always the bytes that were hashed, whatever two
replicas did concurrently. The chunks are joined server-side into the blob's
key by one multipart upload whose parts are copies of the chunks (a chunk over
64 MiB in ranges), ``parts_in_flight`` at a time, completed only once the
digest is verified: from the running hash before the copies start, or, when
the session is re-hashed, by reading it back while the copies run (the upload
is aborted if the hash does not match; no chunk object is ever rewritten, so
the copies read the bytes the hash reads). Chunks too small to be parts (S3 wants
5 MiB) are streamed back through the verified put instead.
That server-side copy is the price of not knowing the digest until the close: a
put whose digest is given up front writes its parts to the blob's key directly
and copies nothing. No way of joining is cheaper on SeaweedFS (it copies the
bytes whatever the requests; docs/s3-performance.md has the measurements, and
the schema change that would remove the copy).

The asyncio locks below serialise one session's operations within a process
only; across processes the tagged keys and the key check above are what keep a
session consistent (two appends at the same offset: the chain takes the first
key in sort order, the other append is answered 416 when it can tell, and is
ignored otherwise).

Blob reads can also bypass the registry: :meth:`S3BlobStore.download_url`
presigns a GET of one blob (the registry answers a blob GET with a 307 to it
when ``CUSTODY_S3_REDIRECT_SECONDS`` is set).

A read streams the object in 2 MiB blocks with one block read ahead, so S3 and
the client are both kept busy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import hashlib
import itertools
import threading
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from registry.digests import Digest
from registry.errors import (
    BlobUnknown,
    BlobUploadUnknown,
    DigestInvalid,
    RangeInvalid,
)
from registry.storage.base import BlobInventory, BlobStat, UploadSweep
from registry.storage.s3_parts import PartWriter

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import (
        CompletedPartTypeDef,
        CopySourceTypeDef,
        GetObjectOutputTypeDef,
        UploadPartCopyOutputTypeDef,
    )

__all__ = ["DEFAULT_PARTS_IN_FLIGHT", "DEFAULT_PART_BYTES", "S3BlobStore"]

DEFAULT_PART_BYTES = 8 * 1024 * 1024
DEFAULT_PARTS_IN_FLIGHT = 4
_MIN_PART_BYTES = 5 * 1024 * 1024  # S3's floor for every part but the last
#: A chunk is copied in ranges of at most this (SeaweedFS copied as fast in any shape;
#: ranges keep a large single chunk from being one long serial request).
_COPY_RANGE_BYTES = 64 * 1024 * 1024
_MAX_PARTS = 10_000
_READ_BYTES = 2 * 1024 * 1024
_STALE_UPLOAD_SECONDS = 24 * 3600
_MARKER = "session"
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
#: Running hashes kept at most (oldest dropped first): a session begun here and closed on
#: another replica leaves its entry behind; a dropped one is re-hashed at its close.
_MAX_HASHERS = 4096

_P = ParamSpec("_P")
_T = TypeVar("_T")


_SESSION_LOCK = threading.Lock()


@functools.cache
def _shared_session() -> boto3.session.Session:
    """One session for every store: it caches S3's service model, which is slow to load."""
    return boto3.session.Session()


def _end(segments: list[tuple[int, str, int]]) -> int:
    return segments[-1][0] + segments[-1][2] if segments else 0


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _verify(expected: Digest, hex_digest: str) -> None:
    actual = Digest("sha256", hex_digest)
    if actual != expected:
        raise DigestInvalid(
            f"content does not match the digest given: expected {expected}, got {actual}"
        )


def _copy_plan(segments: list[tuple[int, str, int]]) -> list[tuple[str, str | None]] | None:
    """The parts that join ``segments`` server-side: (source key, byte range or None).

    A chunk larger than ``_COPY_RANGE_BYTES`` is copied in ranges, so even one
    large chunk is joined several parts at a time. ``None`` when S3 cannot join
    them (a chunk but the last below its 5 MiB floor, or too many parts).
    """
    if any(size < _MIN_PART_BYTES for _, _, size in segments[:-1]):
        return None
    plan: list[tuple[str, str | None]] = []
    for _, key, size in segments:
        # Even pieces, each at least S3's floor (whatever the range size).
        pieces = max(1, min(-(-size // _COPY_RANGE_BYTES), size // _MIN_PART_BYTES))
        if pieces == 1:
            plan.append((key, None))
            continue
        bounds = [index * size // pieces for index in range(pieces + 1)]
        plan += [(key, f"bytes={start}-{end - 1}") for start, end in itertools.pairwise(bounds)]
    return plan if len(plan) <= _MAX_PARTS else None


class S3BlobStore:
    """A :class:`~registry.storage.base.BlobStore` on an S3-compatible bucket."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
        part_bytes: int = DEFAULT_PART_BYTES,
        parts_in_flight: int = DEFAULT_PARTS_IN_FLIGHT,
        max_workers: int = 8,
    ) -> None:
        if part_bytes < _MIN_PART_BYTES:
            raise ValueError(f"part_bytes must be at least {_MIN_PART_BYTES} (S3's minimum)")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_bytes = part_bytes
        self.parts_in_flight = max(1, parts_in_flight)
        config = Config(
            # Checksums only where S3 requires them: the store verifies SHA-256
            # itself, and not every S3-compatible server accepts the newer
            # default trailing checksums.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=max_workers,
            # SigV4 for presigned URLs too (boto3 presigns with SigV2 unless told).
            signature_version="s3v4",
            retries={"mode": "standard", "max_attempts": 4},
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        with _SESSION_LOCK:  # boto3 sessions are not thread-safe; their clients are
            self.client: S3Client = _shared_session().client(
                "s3",
                endpoint_url=endpoint_url,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                region_name=region or "us-east-1",
                config=config,
            )
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="s3blobs"
        )
        # Hashing is sequential per blob: one thread keeps each writer's parts in order.
        self._hash_lane = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="s3hash"
        )
        self._locks: dict[str, asyncio.Lock] = {}
        # Running hashes of the sessions this process appended to: the hash, and the
        # chunk keys it covers, in order.
        self._hashers: dict[str, tuple[hashlib._Hash, tuple[str, ...]]] = {}

    async def _call(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await asyncio.wrap_future(self._executor.submit(fn, *args, **kwargs))

    def key_for(self, digest: Digest) -> str:
        # Only a validated Digest reaches here: the key cannot leave the prefix.
        return f"{self.prefix}{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"

    # -- writing -----------------------------------------------------------------

    async def put(
        self,
        chunks: AsyncIterable[bytes],
        *,
        expected: Digest | None = None,
        max_bytes: int = 0,
    ) -> BlobStat:
        # Parts go to the blob's own key when its digest is known (S3 shows
        # nothing there until the upload is completed), else to a staging key.
        parts_key = (
            self.key_for(expected) if expected else f"{self.prefix}_uploads/{uuid.uuid4().hex}"
        )
        writer = PartWriter(self, parts_key, hashlib.sha256())
        committed = False
        try:
            await writer.write_all(chunks, 0, max_bytes)
            actual = Digest("sha256", await writer.hexdigest())
            if expected is not None and actual != expected:
                raise DigestInvalid(
                    f"content does not match the digest given: expected {expected}, got {actual}"
                )
            target = self.key_for(actual)
            if await self._size_of(target) == writer.size:
                # Same bytes already stored: content addressing dedupes, and an
                # overwrite could disturb readers of the stored object.
                return BlobStat(actual, writer.size)
            await writer.commit(target)
            committed = True
            return BlobStat(actual, writer.size)
        finally:
            if not committed:
                await writer.discard()

    # -- resumable uploads -------------------------------------------------------

    def _session_prefix(self, upload_id: str) -> str:
        if len(upload_id) != 32 or not all(c in "0123456789abcdef" for c in upload_id):
            raise BlobUploadUnknown(f"upload {upload_id!r} is not known")
        return f"{self.prefix}_sessions/{upload_id}/"

    def _lock(self, upload_id: str) -> asyncio.Lock:
        return self._locks.setdefault(upload_id, asyncio.Lock())

    async def start_upload(self) -> str:
        upload_id = uuid.uuid4().hex
        marker = self._session_prefix(upload_id) + _MARKER
        await self._call(self.client.put_object, Bucket=self.bucket, Key=marker, Body=b"")
        self._keep_hasher(upload_id, hashlib.sha256(), ())
        return upload_id

    def _keep_hasher(self, upload_id: str, hasher: hashlib._Hash, keys: tuple[str, ...]) -> None:
        self._hashers.pop(upload_id, None)
        while len(self._hashers) >= _MAX_HASHERS:
            self._hashers.pop(next(iter(self._hashers)))
        self._hashers[upload_id] = (hasher, keys)

    async def _segments(self, upload_id: str) -> list[tuple[int, str, int]]:
        """The session's contiguous chunks as (offset, key, size), in order."""
        prefix = self._session_prefix(upload_id)
        listed = await self._call(self._list, prefix)
        if prefix + _MARKER not in listed:
            raise BlobUploadUnknown(f"upload {upload_id} is not known")
        segments: list[tuple[int, str, int]] = []
        end = 0
        for key in sorted(listed):
            offset = key[len(prefix) :].partition("-")[0]
            # Chunks are named by their offset: only a chain from 0 counts, so a
            # chunk left by a lost race can never be stitched in out of place;
            # of two chunks at one offset, the first in sort order is the chain's.
            if offset.isdigit() and int(offset) == end:
                segments.append((end, key, listed[key][0]))
                end += listed[key][0]
        return segments

    async def upload_size(self, upload_id: str) -> int:
        return _end(await self._segments(upload_id))

    async def append_upload(
        self, upload_id: str, offset: int, chunks: AsyncIterable[bytes], *, max_bytes: int = 0
    ) -> int:
        prefix = self._session_prefix(upload_id)
        async with self._lock(upload_id):
            try:
                segments = await self._segments(upload_id)
            except BlobUploadUnknown:
                self._locks.pop(upload_id, None)
                raise
            current = _end(segments)
            if offset != current:
                raise RangeInvalid(
                    f"chunk starts at byte {offset} but the upload has {current} bytes",
                    extra={"received": current},
                )
            # A tag of its own: no other append, here or on another replica, can
            # overwrite this object, so the bytes hashed are the bytes kept.
            key = f"{prefix}{current:020d}-{uuid.uuid4().hex}"
            chain = tuple(k for _, k, _ in segments)
            # The running hash goes on only over exactly the chain it has seen; one
            # that saw a failed append, or another replica's chunk, is dropped.
            cached = self._hashers.pop(upload_id, None)
            hasher = cached[0] if cached is not None and cached[1] == chain else None
            writer = PartWriter(self, key, hasher)
            committed = False
            try:
                await writer.write_all(chunks, current, max_bytes)
                if writer.size:
                    if hasher is not None:
                        await writer.hexdigest()  # folds in the tail not yet sent
                    await writer.commit(key)
                    committed = True
            finally:
                if not committed:
                    await writer.discard()
            if not committed:  # an empty append: nothing changed
                if hasher is not None:
                    self._keep_hasher(upload_id, hasher, chain)
                return current
            after = await self._segments(upload_id)
            if (current, key, writer.size) not in after:
                # Another replica appended at the same offset and its chunk is the
                # chain's: this one is dropped and the client told where it stands.
                await self._call(self.client.delete_object, Bucket=self.bucket, Key=key)
                received = _end(after)
                raise RangeInvalid(
                    f"another append at byte {current} won the race; the upload has "
                    f"{received} bytes",
                    extra={"received": received},
                )
            if hasher is not None:
                self._keep_hasher(upload_id, hasher, (*chain, key))
            return current + writer.size

    async def finish_upload(self, upload_id: str, expected: Digest) -> BlobStat:
        prefix = self._session_prefix(upload_id)
        async with self._lock(upload_id):
            try:
                segments = await self._segments(upload_id)
                size = _end(segments)
                cached = self._hashers.pop(upload_id, None)
                # Begun, continued or raced elsewhere: hash what the bucket holds.
                rehash = cached is None or cached[1] != tuple(k for _, k, _ in segments)
                try:
                    if cached is not None and not rehash:
                        _verify(expected, cached[0].hexdigest())
                    if await self._size_of(self.key_for(expected)) != size:
                        await self._join(segments, expected, rehash=rehash)
                    elif rehash:  # stored already: nothing to join, but the bytes must match
                        _verify(expected, await self._hash_segments(segments))
                except (ClientError, BlobUnknown) as exc:
                    if isinstance(exc, ClientError) and _error_code(exc) not in _MISSING:
                        raise
                    # Another replica closed or cancelled the session meanwhile.
                    raise BlobUploadUnknown(f"upload {upload_id} was closed elsewhere") from None
                return BlobStat(expected, size)
            finally:
                self._locks.pop(upload_id, None)
                self._hashers.pop(upload_id, None)
                await self._call(self._delete_prefix, prefix)

    async def _hash_segments(self, segments: list[tuple[int, str, int]]) -> str:
        hasher = hashlib.sha256()
        async for block in self._read_segments(segments):
            await self._call(hasher.update, block)
        return hasher.hexdigest()

    async def _join(
        self, segments: list[tuple[int, str, int]], expected: Digest, *, rehash: bool = False
    ) -> None:
        """Join a session's chunks into ``expected``'s key, server-side where S3 can.

        With ``rehash`` the chunks are read back and hashed while they are copied
        (each takes about as long): the copy's multipart upload is completed only
        once the hash matches, and aborted otherwise, so nothing is ever visible
        under a digest its bytes were not verified against.
        """
        if rehash and expected.algorithm != "sha256":  # no sha256 can match it
            _verify(expected, await self._hash_segments(segments))
        target = self.key_for(expected)
        plan = _copy_plan(segments)
        if not segments:
            if rehash:
                _verify(expected, hashlib.sha256().hexdigest())
            await self._call(self.client.put_object, Bucket=self.bucket, Key=target, Body=b"")
        elif plan is None:  # chunks too small to be parts: stream them back, verified again
            await self.put(self._read_segments(segments), expected=expected)
        elif rehash:

            async def verified() -> None:
                _verify(expected, await self._hash_segments(segments))

            await self._copy_as_parts(plan, target, verified)
        else:
            await self._copy_as_parts(plan, target)

    async def _copy_as_parts(
        self,
        plan: list[tuple[str, str | None]],
        target: str,
        verified: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        """One multipart upload whose parts are server-side copies, a few at a time.

        ``plan`` names each part's source key and byte range (``None``: all of it).
        ``verified``, run alongside, must return before the upload is completed.
        """
        created = await self._call(
            self.client.create_multipart_upload, Bucket=self.bucket, Key=target
        )
        upload_id = created["UploadId"]
        slots = asyncio.Semaphore(self.parts_in_flight)
        jobs: list[concurrent.futures.Future[UploadPartCopyOutputTypeDef]] = []

        async def copy(number: int, source: str, byte_range: str | None) -> CompletedPartTypeDef:
            async with slots:
                job = self._executor.submit(
                    self._copy_part, target, upload_id, number, source, byte_range
                )
                jobs.append(job)
                copied = await asyncio.wrap_future(job)
            return {"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]}

        try:
            try:
                # A failure (a copy's, or the hash's) cancels the rest.
                async with asyncio.TaskGroup() as group:
                    if verified is not None:
                        group.create_task(verified())
                    copies = [
                        group.create_task(copy(number, source, byte_range))
                        for number, (source, byte_range) in enumerate(plan, start=1)
                    ]
            except BaseExceptionGroup as failed:  # the first failure, as the caller knows it
                raise failed.exceptions[0] from None
            parts = [task.result() for task in copies]
            await self._call(
                self.client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=target,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            # Copies already sent finish in their threads: abort only after them.
            if jobs:
                await asyncio.wait([asyncio.wrap_future(job) for job in jobs])
            await self._call(
                self.client.abort_multipart_upload,
                Bucket=self.bucket,
                Key=target,
                UploadId=upload_id,
            )
            raise

    def _copy_part(
        self, target: str, upload_id: str, number: int, source: str, byte_range: str | None
    ) -> UploadPartCopyOutputTypeDef:
        copy_source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": source}
        if byte_range is None:
            return self.client.upload_part_copy(
                Bucket=self.bucket,
                Key=target,
                UploadId=upload_id,
                PartNumber=number,
                CopySource=copy_source,
            )
        return self.client.upload_part_copy(
            Bucket=self.bucket,
            Key=target,
            UploadId=upload_id,
            PartNumber=number,
            CopySource=copy_source,
            CopySourceRange=byte_range,
        )

    async def _read_segments(self, segments: list[tuple[int, str, int]]) -> AsyncIterator[bytes]:
        for _, key, _ in segments:
            async for block in self._read_key(key, 0, None):
                yield block

    async def abort_upload(self, upload_id: str) -> None:
        prefix = self._session_prefix(upload_id)
        async with self._lock(upload_id):
            await self._call(self._delete_prefix, prefix)
        self._locks.pop(upload_id, None)

    # -- reading -----------------------------------------------------------------

    async def _size_of(self, key: str) -> int | None:
        try:
            head = await self._call(self.client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise
        return head["ContentLength"]

    async def stat(self, digest: Digest) -> BlobStat | None:
        size = await self._size_of(self.key_for(digest))
        return None if size is None else BlobStat(digest, size)

    async def download_url(self, digest: Digest, expires_seconds: int) -> str:
        """A presigned GET of the blob's object, valid ``expires_seconds`` (signed locally)."""
        return await self._call(
            self.client.generate_presigned_url,
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key_for(digest)},
            ExpiresIn=expires_seconds,
        )

    def open(self, digest: Digest, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self._read_key(self.key_for(digest), start, end, digest)

    async def _read_key(
        self, key: str, start: int, end: int | None, digest: Digest | None = None
    ) -> AsyncIterator[bytes]:
        if end is not None and end <= start:
            if await self._size_of(key) is None:
                raise BlobUnknown(f"blob {digest} is not stored")
            return
        # No Range header for a whole read: S3 refuses any range of an empty object.
        byte_range = (
            None if not start and end is None else f"bytes={start}-{'' if end is None else end - 1}"
        )
        try:
            response = await self._call(self._get, key, byte_range)
        except ClientError as exc:
            code = _error_code(exc)
            if code in _MISSING:
                raise BlobUnknown(f"blob {digest} is not stored") from None
            if code == "InvalidRange":  # the object exists; the range lies past its end
                return
            raise
        body = response["Body"]
        # One read ahead: the next block comes from S3 while this one goes to the client.
        pending = self._executor.submit(body.read, _READ_BYTES)
        try:
            while data := await asyncio.wrap_future(pending):
                pending = self._executor.submit(body.read, _READ_BYTES)
                yield data
        finally:
            # Closed once no read is in flight: never under a reading thread's feet.
            pending.add_done_callback(lambda _: body.close())

    def _get(self, key: str, byte_range: str | None) -> GetObjectOutputTypeDef:
        if byte_range is None:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        return self.client.get_object(Bucket=self.bucket, Key=key, Range=byte_range)

    async def delete(self, digest: Digest) -> bool:
        key = self.key_for(digest)
        if await self._size_of(key) is None:
            return False
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=key)
        return True

    async def ping(self) -> None:
        await self._call(self.client.head_bucket, Bucket=self.bucket)

    # -- housekeeping ------------------------------------------------------------

    def _list(self, prefix: str) -> dict[str, tuple[int, datetime]]:
        """Every key under ``prefix`` with its size and last modification."""
        found: dict[str, tuple[int, datetime]] = {}
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                found[item["Key"]] = (item["Size"], item["LastModified"])
        return found

    async def inventory(self) -> BlobInventory:
        return await self._call(self._inventory)

    def _inventory(self) -> BlobInventory:
        sizes: dict[str, int] = {}
        stray: list[str] = []
        uploads: list[str] = []
        sessions: set[str] = set()
        for key, (size, _) in self._list(self.prefix).items():
            name = key[len(self.prefix) :]
            kind, _, rest = name.partition("/")
            if kind == "_uploads":
                uploads.append(rest)
            elif kind == "_sessions":
                sessions.add(rest.partition("/")[0])
            else:
                try:
                    digest: Digest | None = Digest.parse(f"sha256:{name.rpartition('/')[2]}")
                except DigestInvalid:
                    digest = None
                if digest is None or self.key_for(digest) != key:
                    stray.append(name)
                else:
                    sizes[str(digest)] = size
        # A multipart upload in flight holds parts but no object yet: a leftover too.
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                uploads.append(f"multipart:{upload['Key'][len(self.prefix) :]}")
        return BlobInventory(
            sizes, tuple(sorted(stray)), tuple(sorted(uploads)), tuple(sorted(sessions))
        )

    def _delete_prefix(self, prefix: str) -> int:
        keys = list(self._list(prefix))
        for start in range(0, len(keys), 1000):  # S3's limit per DeleteObjects
            batch = keys[start : start + 1000]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
        return len(keys)

    def sweep_stale_uploads(self, older_than: float = _STALE_UPLOAD_SECONDS) -> int:
        """Remove what crashed or abandoned uploads left; none of it was ever visible.

        Aborts multipart uploads begun before the cutoff, deletes staging
        objects, and deletes sessions with no activity since the cutoff.
        """
        return self._sweep(time.time() - older_than, frozenset()).removed

    async def sweep_uploads(self, older_than: float) -> UploadSweep:
        busy = frozenset(upload for upload, lock in self._locks.items() if lock.locked())
        swept = await self._call(self._sweep, time.time() - older_than, busy)
        for upload_id in swept.sessions:
            self._hashers.pop(upload_id, None)
            lock = self._locks.get(upload_id)
            if lock is not None and not lock.locked():
                self._locks.pop(upload_id, None)
        return swept

    def _sweep(self, cutoff_time: float, busy: frozenset[str]) -> UploadSweep:
        # The cutoff is read by the caller, on the event loop's clock (one clock per purge).
        cutoff = datetime.fromtimestamp(cutoff_time, tz=UTC)
        removed = 0
        root = f"{self.prefix}_sessions/"
        # Last activity of each session: its newest object, or a chunk still going up.
        sessions: dict[str, datetime] = {}
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                key = upload["Key"]
                if upload["Initiated"] < cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload["UploadId"]
                    )
                    removed += 1
                elif key.startswith(root) and "/" in key[len(root) :]:
                    session = key[: key.index("/", len(root)) + 1]
                    sessions[session] = max(upload["Initiated"], sessions.get(session, cutoff))
        for key, (_, modified) in self._list(f"{self.prefix}_uploads/").items():
            if modified < cutoff:
                self.client.delete_object(Bucket=self.bucket, Key=key)
                removed += 1
        for key, (_, modified) in self._list(root).items():
            if "/" not in key[len(root) :]:
                continue  # not a session's: left for fsck to report as stray
            session = key[: key.index("/", len(root)) + 1]
            sessions[session] = max(modified, sessions.get(session, modified))
        gone: list[str] = []
        for session, last_active in sessions.items():
            upload_id = session[len(root) : -1]
            if last_active < cutoff and upload_id not in busy:
                removed += self._delete_prefix(session)
                gone.append(upload_id)
        return UploadSweep(tuple(sorted(gone)), removed)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._hash_lane.shutdown(wait=True)
        self.client.close()
