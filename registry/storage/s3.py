"""S3-compatible blob store: content-addressed objects in one bucket, under a prefix.

Layout under ``<prefix>``::

    sha256/<2 hex>/<64 hex>                   a verified blob stored under its digest
    _objects/<32 hex>                         a verified blob stored by a chunked session
    _refs/sha256/<2 hex>/<64 hex>/<32 hex>    names the ``_objects/`` key of a digest's blob
    _uploads/<32 hex>                         a large put whose digest was not given in advance
    _sessions/<id>/session                    marker of a chunked upload session
    _sessions/<id>/<start>-<end>-<tag>        one step per append (registry.storage.s3_sessions)

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

A chunked upload session does not know its digest until it is closed, and S3 has
no rename: an object appears under a key only by a PUT, a copy (SeaweedFS copies
the bytes) or completing a multipart upload begun on that very key. So a session
is one multipart upload on a key of its own, ``_objects/<id>``: each append sends
its bytes as the upload's next parts, and the close completes the upload (no byte
is copied), verifies the digest, and only then writes the *ref* that names the
object as the digest's blob. Until the ref exists the object is nobody's blob, so
nothing partial or unverified is ever visible under a digest. Readers look for the
digest's own key first, then for its ref. A blob small enough to have no part (all
of it in the tail) is written under its digest's key at the close, as a put is.

Sessions live in the bucket, so any replica can continue one
(:mod:`registry.storage.s3_sessions` names what each append records). The running
digest is kept in the process that received the appends, with the exact steps it
covers; Python cannot save a hash state in the bucket, so a session continued
elsewhere (or after a restart, or raced by another replica) is completed and then
read back and hashed at its close: its object is deleted, never referenced, if the
hash does not match. The cached digest is used only when the session's chain of
steps is exactly the one it was computed over, and the upload is completed with the
ETags each step recorded, so the bytes published under a digest are the bytes that
were hashed: a part overwritten meanwhile by a raced append is either refused at the
completion (InvalidPart, as AWS does) or not the version completed (SeaweedFS keeps
each version of a part and completes the one with the ETag given).

The asyncio locks below serialise one session's operations within a process
only; across processes the tagged step keys and the chain check above are what
keep a session consistent (two appends at the same offset: the chain takes the
first key in sort order, the other append is answered 416 when it can tell).

Blob reads can also bypass the registry: :meth:`S3BlobStore.download_url`
presigns a GET of one blob's object (the registry answers a blob GET with a 307
to it when ``CUSTODY_S3_REDIRECT_SECONDS`` is set).

A read streams the object in 2 MiB blocks with one block read ahead, so S3 and
the client are both kept busy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import threading
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ParamSpec, TypeVar

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
from registry.storage.s3_parts import MIN_PART_BYTES, PartWriter
from registry.storage.s3_sessions import MARKER, SessionState, Step, chain_of, step_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef, MultipartUploadTypeDef

__all__ = ["DEFAULT_PARTS_IN_FLIGHT", "DEFAULT_PART_BYTES", "S3BlobStore"]

DEFAULT_PART_BYTES = 8 * 1024 * 1024
DEFAULT_PARTS_IN_FLIGHT = 4
_READ_BYTES = 2 * 1024 * 1024
_STALE_UPLOAD_SECONDS = 24 * 3600
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


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _verify(expected: Digest, hex_digest: str) -> None:
    actual = Digest("sha256", hex_digest)
    if actual != expected:
        raise DigestInvalid(
            f"content does not match the digest given: expected {expected}, got {actual}"
        )


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
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part_bytes must be at least {MIN_PART_BYTES} (S3's minimum)")
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
            stored = await self._locate(actual)
            if stored is not None and stored[1] == writer.size:
                # Same bytes already stored: content addressing dedupes, and an
                # overwrite could disturb readers of the stored object.
                return BlobStat(actual, writer.size)
            await writer.commit(self.key_for(actual))
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

    def _object_key(self, upload_id: str) -> str:
        return f"{self.prefix}_objects/{upload_id}"

    def _ref_prefix(self, digest: Digest) -> str:
        return f"{self.prefix}_refs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}/"

    def _lock(self, upload_id: str) -> asyncio.Lock:
        return self._locks.setdefault(upload_id, asyncio.Lock())

    async def start_upload(self) -> str:
        upload_id = uuid.uuid4().hex
        marker = self._session_prefix(upload_id) + MARKER
        await self._call(self.client.put_object, Bucket=self.bucket, Key=marker, Body=b"")
        self._keep_hasher(upload_id, hashlib.sha256(), ())
        return upload_id

    def _keep_hasher(self, upload_id: str, hasher: hashlib._Hash, keys: tuple[str, ...]) -> None:
        self._hashers.pop(upload_id, None)
        while len(self._hashers) >= _MAX_HASHERS:
            self._hashers.pop(next(iter(self._hashers)))
        self._hashers[upload_id] = (hasher, keys)

    async def _chain(self, upload_id: str) -> list[Step]:
        """The session's recorded appends, in order (BlobUploadUnknown without a marker)."""
        prefix = self._session_prefix(upload_id)
        listed = await self._call(self._list, prefix)
        if prefix + MARKER not in listed:
            raise BlobUploadUnknown(f"upload {upload_id} is not known")
        return chain_of(prefix, list(listed))

    async def _state(self, chain: list[Step]) -> SessionState:
        """What the chain's last step recorded."""
        if not chain:
            return SessionState()
        try:
            response = await self._call(
                self.client.get_object, Bucket=self.bucket, Key=chain[-1].key
            )
        except ClientError as exc:
            if _error_code(exc) not in _MISSING:
                raise
            # Listed a moment ago: another replica closed or cancelled the session since.
            raise BlobUploadUnknown("the upload was closed elsewhere") from None
        body = await self._call(response["Body"].read)
        return SessionState.decode(body)

    async def upload_size(self, upload_id: str) -> int:
        chain = await self._chain(upload_id)
        return chain[-1].end if chain else 0

    async def append_upload(
        self, upload_id: str, offset: int, chunks: AsyncIterable[bytes], *, max_bytes: int = 0
    ) -> int:
        prefix = self._session_prefix(upload_id)
        async with self._lock(upload_id):
            try:
                chain = await self._chain(upload_id)
            except BlobUploadUnknown:
                self._locks.pop(upload_id, None)
                raise
            current = chain[-1].end if chain else 0
            if offset != current:
                raise RangeInvalid(
                    f"chunk starts at byte {offset} but the upload has {current} bytes",
                    extra={"received": current},
                )
            recorded = await self._state(chain)
            keys = tuple(step.key for step in chain)
            # The running hash goes on only over exactly the chain it has seen; one
            # that saw a failed append, or another replica's step, is dropped.
            cached = self._hashers.pop(upload_id, None)
            hasher = cached[0] if cached is not None and cached[1] == keys else None
            writer = PartWriter(
                self,
                self._object_key(upload_id),
                hasher,
                upload_id=recorded.upload,
                first_part=recorded.next_part,
            )
            writer.preload(recorded.tail)  # sent again, at the head of this append's first part
            key = ""
            try:
                await writer.write_all(chunks, current, max_bytes)
                if writer.size:
                    tail = await writer.flush_parts()
                    after_append = SessionState(
                        writer.upload_id, [*recorded.parts, *writer.parts], tail
                    )
                    # A tag of its own: no other append, here or on another replica,
                    # overwrites this step.
                    step = prefix + step_name(current, current + writer.size, uuid.uuid4().hex)
                    await self._call(
                        self.client.put_object,
                        Bucket=self.bucket,
                        Key=step,
                        Body=after_append.encode(),
                    )
                    key = step
            finally:
                if not key:  # failed or empty: the session is as it was
                    await writer.discard()
            if not key:
                if hasher is not None:
                    self._keep_hasher(upload_id, hasher, keys)
                return current
            after = await self._chain(upload_id)
            if key not in {step.key for step in after}:
                # Another replica appended at the same offset and its step is the
                # chain's: this one is dropped and the client told where it stands.
                await self._call(self.client.delete_object, Bucket=self.bucket, Key=key)
                if recorded.upload is None and writer.upload_id is not None:
                    await self._abort_upload_on(self._object_key(upload_id), only=writer.upload_id)
                received = after[-1].end if after else 0
                raise RangeInvalid(
                    f"another append at byte {current} won the race; the upload has "
                    f"{received} bytes",
                    extra={"received": received},
                )
            if hasher is not None:
                self._keep_hasher(upload_id, hasher, (*keys, key))
            return current + writer.size

    async def finish_upload(self, upload_id: str, expected: Digest) -> BlobStat:
        prefix = self._session_prefix(upload_id)
        target = self._object_key(upload_id)
        async with self._lock(upload_id):
            completed = referenced = False
            try:
                chain = await self._chain(upload_id)
                size = chain[-1].end if chain else 0
                recorded = await self._state(chain)
                cached = self._hashers.pop(upload_id, None)
                # Begun, continued or raced elsewhere: hash what the bucket holds.
                trusted = cached is not None and cached[1] == tuple(step.key for step in chain)
                if cached is not None and trusted:
                    _verify(expected, cached[0].hexdigest())
                stored = await self._locate(expected)
                if recorded.upload is None:  # no part was sent: it is all in the tail
                    if not trusted:
                        _verify(expected, hashlib.sha256(recorded.tail).hexdigest())
                    if stored is None or stored[1] != size:
                        await self._call(
                            self.client.put_object,
                            Bucket=self.bucket,
                            Key=self.key_for(expected),
                            Body=recorded.tail,
                        )
                    return BlobStat(expected, size)
                if trusted and stored is not None and stored[1] == size:
                    return BlobStat(expected, size)  # stored already: nothing to complete
                await self._complete(target, recorded)
                completed = True
                if not trusted:
                    _verify(expected, await self._hash_key(target))
                if stored is not None and stored[1] == size:
                    return BlobStat(expected, size)  # stored already (the object goes)
                await self._call(
                    self.client.put_object,
                    Bucket=self.bucket,
                    Key=self._ref_prefix(expected) + upload_id,
                    Body=b"",
                )
                referenced = True
                return BlobStat(expected, size)
            except ClientError as exc:
                code = _error_code(exc)
                if code == "InvalidPart":
                    raise DigestInvalid(
                        "a part of this upload changed after it was received (a concurrent "
                        "append?): upload the blob again"
                    ) from None
                if code not in _MISSING and code != "NoSuchUpload":
                    raise
                # Another replica closed or cancelled the session meanwhile.
                raise BlobUploadUnknown(f"upload {upload_id} was closed elsewhere") from None
            finally:
                self._locks.pop(upload_id, None)
                self._hashers.pop(upload_id, None)
                if completed and not referenced:  # unverified, or a second copy: nobody's
                    await self._call(self.client.delete_object, Bucket=self.bucket, Key=target)
                if not completed:
                    await self._abort_upload_on(target)
                await self._call(self._delete_prefix, prefix)

    async def _complete(self, target: str, recorded: SessionState) -> None:
        """Complete the session's upload with the parts its steps recorded, tail last."""
        assert recorded.upload is not None
        parts = list(recorded.parts)
        if recorded.tail:  # the last part may be as small as it likes
            sent = await self._call(
                self.client.upload_part,
                Bucket=self.bucket,
                Key=target,
                UploadId=recorded.upload,
                PartNumber=recorded.next_part,
                Body=recorded.tail,
            )
            parts.append({"PartNumber": recorded.next_part, "ETag": sent["ETag"]})
        await self._call(
            self.client.complete_multipart_upload,
            Bucket=self.bucket,
            Key=target,
            UploadId=recorded.upload,
            MultipartUpload={"Parts": parts},
        )

    async def _hash_key(self, key: str) -> str:
        hasher = hashlib.sha256()
        async for block in self._read_key(key, 0, None):
            await self._call(hasher.update, block)
        return hasher.hexdigest()

    async def _abort_upload_on(self, key: str, *, only: str | None = None) -> None:
        """Abort the multipart uploads begun on ``key`` (or just the one named ``only``)."""
        listed = await self._call(
            self.client.list_multipart_uploads, Bucket=self.bucket, Prefix=key
        )
        for upload in listed.get("Uploads", []):
            if upload["Key"] == key and only in (None, upload["UploadId"]):
                with contextlib.suppress(ClientError):  # gone already: what was wanted
                    await self._call(
                        self.client.abort_multipart_upload,
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload["UploadId"],
                    )

    async def abort_upload(self, upload_id: str) -> None:
        prefix = self._session_prefix(upload_id)
        async with self._lock(upload_id):
            await self._abort_upload_on(self._object_key(upload_id))
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

    async def _locate(self, digest: Digest) -> tuple[str, int] | None:
        """The key holding ``digest``'s blob and its size: its own key, else its ref's object."""
        key = self.key_for(digest)
        size = await self._size_of(key)
        if size is not None:
            return key, size
        refs = await self._call(self._list, self._ref_prefix(digest))
        for ref in sorted(refs):  # of two sessions that stored one digest, the first
            key = self._object_key(ref.rpartition("/")[2])
            size = await self._size_of(key)
            if size is not None:
                return key, size
        return None

    async def stat(self, digest: Digest) -> BlobStat | None:
        located = await self._locate(digest)
        return None if located is None else BlobStat(digest, located[1])

    async def download_url(self, digest: Digest, expires_seconds: int) -> str:
        """A presigned GET of the blob's object, valid ``expires_seconds``.

        Signed locally; finding which object holds the blob takes a HEAD (and a
        listing when a session stored it).
        """
        located = await self._locate(digest)
        return await self._call(
            self.client.generate_presigned_url,
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self.key_for(digest) if located is None else located[0],
            },
            ExpiresIn=expires_seconds,
        )

    async def open(
        self, digest: Digest, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        started = False
        try:
            async for block in self._read_key(self.key_for(digest), start, end, digest):
                started = True
                yield block
            return
        except BlobUnknown:
            if started:
                raise
        # Not under its own key: a session stored it.
        located = await self._locate(digest)
        if located is None:
            raise BlobUnknown(f"blob {digest} is not stored")
        async for block in self._read_key(located[0], start, end, digest):
            yield block

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
        existed = False
        key = self.key_for(digest)
        if await self._size_of(key) is not None:
            await self._call(self.client.delete_object, Bucket=self.bucket, Key=key)
            existed = True
        for ref in sorted(await self._call(self._list, self._ref_prefix(digest))):
            # The ref first: the blob stops being visible before its bytes go.
            await self._call(self.client.delete_object, Bucket=self.bucket, Key=ref)
            target = self._object_key(ref.rpartition("/")[2])
            existed = existed or await self._size_of(target) is not None
            await self._call(self.client.delete_object, Bucket=self.bucket, Key=target)
        return existed

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

    def _list_uploads(self) -> list[MultipartUploadTypeDef]:
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        return [upload for page in pages for upload in page.get("Uploads", [])]

    def _refs(self) -> dict[str, list[str]]:
        """Every ref: the session ids (``_objects/`` names) each digest's refs name."""
        refs: dict[str, list[str]] = {}
        root = f"{self.prefix}_refs/"
        for key in sorted(self._list(root)):
            digest_path, _, session = key[len(root) :].rpartition("/")
            refs.setdefault(digest_path, []).append(session)
        return refs

    async def inventory(self) -> BlobInventory:
        return await self._call(self._inventory)

    def _inventory(self) -> BlobInventory:
        sizes: dict[str, int] = {}
        stray: list[str] = []
        uploads: list[str] = []
        sessions: set[str] = set()
        objects: dict[str, int] = {}
        refs: dict[str, list[str]] = {}
        for key, (size, _) in self._list(self.prefix).items():
            name = key[len(self.prefix) :]
            kind, _, rest = name.partition("/")
            if kind == "_uploads":
                uploads.append(rest)
            elif kind == "_sessions":
                sessions.add(rest.partition("/")[0])
            elif kind == "_objects":
                objects[rest] = size
            elif kind == "_refs":
                digest_path, _, session = rest.rpartition("/")
                refs.setdefault(digest_path, []).append(session)
            elif (digest := self._digest_named(name)) is not None:
                sizes[str(digest)] = size
            else:
                stray.append(name)
        referenced: set[str] = set()
        for digest_path, names in refs.items():
            digest = self._digest_named(digest_path)
            for session in names:
                if digest is None or session not in objects:  # names nothing stored
                    stray.append(f"_refs/{digest_path}/{session}")
                    continue
                referenced.add(session)
                sizes.setdefault(str(digest), objects[session])
        # A session's object before its ref is written: a close in flight, or killed.
        uploads += [f"_objects/{name}" for name in objects if name not in referenced]
        # A multipart upload in flight holds parts but no object yet: a leftover too,
        # unless it is a session's, whose parts are that session's bytes.
        for upload in self._list_uploads():
            name = upload["Key"][len(self.prefix) :]
            kind, _, rest = name.partition("/")
            if kind == "_objects" and rest in sessions:
                continue
            uploads.append(f"multipart:{name}")
        return BlobInventory(
            sizes, tuple(sorted(stray)), tuple(sorted(uploads)), tuple(sorted(sessions))
        )

    def _digest_named(self, name: str) -> Digest | None:
        """The digest whose own key is ``<prefix>name``, if ``name`` is such a path."""
        try:
            digest = Digest.parse(f"sha256:{name.rpartition('/')[2]}")
        except DigestInvalid:
            return None
        return digest if self.key_for(digest) == self.prefix + name else None

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
        objects_root = f"{self.prefix}_objects/"
        # Listed before the sessions and the refs: a close writes its object, then its
        # ref, then drops its session, so an object seen here whose session is gone
        # when the sessions are listed has its ref listed after, if it has one.
        objects = self._list(objects_root)
        # Last activity of each session: its newest object, or a part still going up.
        sessions: dict[str, datetime] = {}
        session_uploads: dict[str, list[MultipartUploadTypeDef]] = {}
        for upload in self._list_uploads():
            key = upload["Key"]
            if key.startswith(objects_root):
                session = f"{root}{key[len(objects_root) :]}/"
                session_uploads.setdefault(session, []).append(upload)
            elif upload["Initiated"] < cutoff:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload["UploadId"]
                )
                removed += 1
        for key, (_, modified) in self._list(f"{self.prefix}_uploads/").items():
            if modified < cutoff:
                self.client.delete_object(Bucket=self.bucket, Key=key)
                removed += 1
        for key, (_, modified) in self._list(root).items():
            if "/" not in key[len(root) :]:
                continue  # not a session's: left for fsck to report as stray
            session = key[: key.index("/", len(root)) + 1]
            sessions[session] = max(modified, sessions.get(session, modified))
        referenced = {name for names in self._refs().values() for name in names}
        gone: list[str] = []
        for session, uploads in session_uploads.items():
            if session in sessions:
                continue  # the session's own: goes with it, or stays with it
            for upload in uploads:  # its session was consumed or swept: nobody's
                if upload["Initiated"] < cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        for session, last_active in sessions.items():
            upload_id = session[len(root) : -1]
            if last_active >= cutoff or upload_id in busy:
                continue
            uploads = session_uploads.get(session, [])
            if any(self._last_part_at(upload) >= cutoff for upload in uploads):
                continue  # an append is still sending parts
            for upload in uploads:
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
                removed += 1
            removed += self._delete_prefix(session)
            gone.append(upload_id)
        for key, (_, modified) in objects.items():
            name = key[len(objects_root) :]
            if f"{root}{name}/" in sessions or name in referenced or modified >= cutoff:
                continue
            self.client.delete_object(Bucket=self.bucket, Key=key)  # a close killed half-way
            removed += 1
        return UploadSweep(tuple(sorted(gone)), removed)

    def _last_part_at(self, upload: MultipartUploadTypeDef) -> datetime:
        """When the newest part of ``upload`` arrived (its start, if it has none)."""
        newest = upload["Initiated"]
        pages = self.client.get_paginator("list_parts").paginate(
            Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
        for page in pages:
            for part in page.get("Parts", []):
                newest = max(newest, part["LastModified"])
        return newest

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._hash_lane.shutdown(wait=True)
        self.client.close()
