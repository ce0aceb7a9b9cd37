"""What the S3 blob store promises beyond the shared contract, on a real SeaweedFS.

Nothing partial is ever visible (the bucket is listed, multipart uploads too),
large blobs go up in parts, memory stays bounded both ways, and upload
sessions live in the bucket so another replica can continue them.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import os
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.digests import Digest
from registry.errors import DigestInvalid, RangeInvalid
from registry.storage import FilesystemBlobStore, open_blob_store
from registry.storage import s3 as s3_module
from registry.storage.s3 import (
    DEFAULT_PART_BYTES,
    DEFAULT_PARTS_IN_FLIGHT,
    S3BlobStore,
    _copy_plan,
)
from registry.storage.s3_parts import ChunksBody
from tests.support.seaweedfs import SeaweedFS

MiB = 1024 * 1024


def _open(server: SeaweedFS, prefix: str) -> S3BlobStore:
    return S3BlobStore(
        server.bucket,
        prefix,
        endpoint_url=server.endpoint_url,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
    )


@pytest.fixture
def store(seaweedfs: SeaweedFS) -> Iterator[S3BlobStore]:
    backend = _open(seaweedfs, f"s3-{uuid.uuid4().hex}")
    yield backend
    backend.close()


def _keys(store: S3BlobStore) -> list[str]:
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix)
    return sorted(item["Key"][len(store.prefix) :] for item in listed.get("Contents", []))


def _multipart_uploads(store: S3BlobStore) -> list[str]:
    listed = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    return [upload["Key"] for upload in listed.get("Uploads", [])]


def _count_calls(store: S3BlobStore, operation: str) -> list[int]:
    calls: list[int] = []

    def seen(**_: Any) -> None:
        calls.append(1)

    store.client.meta.events.register(f"before-call.s3.{operation}", seen)
    return calls


async def _generated(size: int, chunk: int = MiB, seed: bytes = b"") -> AsyncIterator[bytes]:
    """Deterministic bytes made on the fly: the test itself holds no whole blob."""
    for index in range(0, size, chunk):
        block = hashlib.sha256(seed + index.to_bytes(8, "big")).digest() * (chunk // 32)
        yield block[: min(chunk, size - index)]


async def _digest_of(chunks: AsyncIterator[bytes]) -> Digest:
    hasher = hashlib.sha256()
    async for chunk in chunks:
        hasher.update(chunk)
    return Digest("sha256", hasher.hexdigest())


def test_large_put_goes_up_in_parts_to_the_blob_key(store: S3BlobStore) -> None:
    size = 3 * DEFAULT_PART_BYTES + 12345
    parts = _count_calls(store, "UploadPart")

    async def scenario() -> Digest:
        expected = await _digest_of(_generated(size))
        stat = await store.put(_generated(size), expected=expected)
        assert stat.size == size
        assert await _digest_of(store.open(stat.digest)) == expected
        return expected

    digest = asyncio.run(scenario())
    assert len(parts) == 4
    assert _keys(store) == [store.key_for(digest)[len(store.prefix) :]]
    assert _multipart_uploads(store) == []


def test_large_put_without_a_digest_is_staged_then_copied(store: S3BlobStore) -> None:
    size = 2 * DEFAULT_PART_BYTES + 1

    async def scenario() -> None:
        stat = await store.put(_generated(size))
        assert stat.digest == await _digest_of(_generated(size))
        assert (await store.stat(stat.digest)) == stat

    asyncio.run(scenario())
    keys = _keys(store)
    assert len(keys) == 1 and keys[0].startswith("sha256/")  # the stage is gone
    assert _multipart_uploads(store) == []


def test_mismatched_large_put_leaves_nothing_under_any_digest(store: S3BlobStore) -> None:
    size = 2 * DEFAULT_PART_BYTES + 7
    wrong = Digest("sha256", "0" * 64)

    async def scenario() -> None:
        with pytest.raises(DigestInvalid):
            await store.put(_generated(size), expected=wrong)
        assert await store.stat(wrong) is None

    asyncio.run(scenario())
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


@pytest.mark.parametrize("with_digest", [True, False])
def test_abandoned_large_put_leaves_nothing(store: S3BlobStore, with_digest: bool) -> None:
    class Gone(Exception):
        pass

    async def abandoned() -> AsyncIterator[bytes]:
        async for chunk in _generated(2 * DEFAULT_PART_BYTES + 3):
            yield chunk
        raise Gone

    async def scenario() -> None:
        expected = await _digest_of(_generated(2 * DEFAULT_PART_BYTES + 3))
        with pytest.raises(Gone):
            await store.put(abandoned(), expected=expected if with_digest else None)
        assert await store.stat(expected) is None

    asyncio.run(scenario())
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


def test_cancelled_large_put_leaves_nothing(store: S3BlobStore) -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield os.urandom(MiB)

    async def scenario() -> None:
        task = asyncio.create_task(store.put(endless()))
        while not _multipart_uploads(store):  # cancel once parts are on their way
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


def test_memory_stays_bounded_for_a_96_mib_blob(store: S3BlobStore) -> None:
    """Peak Python memory of a 96 MiB put and read, measured by tracemalloc."""
    size = 96 * MiB
    peaks: dict[str, int] = {}

    async def scenario() -> None:
        expected = await _digest_of(_generated(size, seed=b"big"))
        tracemalloc.start()
        try:
            stat = await store.put(_generated(size, seed=b"big"), expected=expected)
            peaks["put"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            assert await _digest_of(store.open(stat.digest)) == expected
            peaks["read"] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    asyncio.run(scenario())
    print(
        f"tracemalloc peaks for 96 MiB: put {peaks['put'] / MiB:.1f} MiB, "
        f"read {peaks['read'] / MiB:.1f} MiB"
    )
    # While putting: the parts in flight, the one filling, and about two parts' worth
    # of blocks being read to sign and send them; a few blocks while reading.
    assert peaks["put"] < (DEFAULT_PARTS_IN_FLIGHT + 3) * DEFAULT_PART_BYTES
    assert peaks["read"] < 8 * MiB


def test_session_continued_by_another_replica(store: S3BlobStore, seaweedfs: SeaweedFS) -> None:
    """Sessions live in the bucket: a second store on the same prefix continues one.

    The store that closes it never saw the second chunk, so it re-hashes the
    chunks from the bucket, then joins them server-side, each chunk a part.
    """
    replica = _open(seaweedfs, store.prefix)
    big = DEFAULT_PART_BYTES + 5  # this chunk goes up as a multipart object of its own
    copied_parts = _count_calls(store, "UploadPartCopy")
    reads = _count_calls(store, "GetObject")

    async def scenario() -> None:
        upload = await store.start_upload()
        offset = await store.append_upload(upload, 0, _generated(big, seed=b"a"))
        assert await replica.upload_size(upload) == big
        offset = await replica.append_upload(upload, offset, _generated(1000, seed=b"b"))

        async def whole() -> AsyncIterator[bytes]:
            async for chunk in _generated(big, seed=b"a"):
                yield chunk
            async for chunk in _generated(1000, seed=b"b"):
                yield chunk

        expected = await _digest_of(whole())
        stat = await store.finish_upload(upload, expected)
        assert stat.size == offset == big + 1000
        assert await _digest_of(replica.open(stat.digest)) == expected

    asyncio.run(scenario())
    replica.close()
    assert len(copied_parts) == 2
    assert len(reads) == 2  # each chunk read back once, to hash it
    assert [key.split("/")[0] for key in _keys(store)] == ["sha256"]  # the session is gone
    assert _multipart_uploads(store) == []


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def test_a_replica_racing_at_the_same_offset_cannot_swap_the_verified_bytes(
    store: S3BlobStore, seaweedfs: SeaweedFS
) -> None:
    """Another replica's chunk at the same offset wins the chain after this one appended.

    This store's running hash covers its own chunk; the session now holds other
    bytes at that offset. Closing with the digest of this store's bytes must not
    publish the other bytes under it: the cached hash no longer matches the chain,
    so the close re-hashes what the bucket holds, and refuses.
    """
    good, evil = b"good bytes " * 100, b"evil bytes " * 100

    async def scenario() -> None:
        upload = await store.start_upload()
        assert await store.append_upload(upload, 0, _one(good)) == len(good)
        # What a replica that listed the session before this append saw: offset 0
        # free. Its chunk sorts first, so it is the chain's.
        rival = f"{store.prefix}_sessions/{upload}/{0:020d}-{'0' * 32}"
        store.client.put_object(Bucket=store.bucket, Key=rival, Body=evil)
        good_digest = Digest("sha256", hashlib.sha256(good).hexdigest())
        with pytest.raises(DigestInvalid):
            await store.finish_upload(upload, good_digest)
        assert await store.stat(good_digest) is None

    asyncio.run(scenario())
    assert _keys(store) == []


def test_an_append_that_loses_the_race_is_answered_416_and_dropped(
    store: S3BlobStore, seaweedfs: SeaweedFS
) -> None:
    """Both replicas saw offset 0; the rival's chunk lands first in the chain."""
    ours, theirs = b"a" * 300, b"b" * 200
    replica = _open(seaweedfs, store.prefix)
    raced: list[str] = []

    def rival_first(params: dict[str, Any], **_: Any) -> None:
        key = params["Key"]
        if "/_sessions/" in f"/{key}" and not key.endswith("session") and not raced:
            upload = key.split("/")[-2]
            rival = f"{store.prefix}_sessions/{upload}/{0:020d}-{'0' * 32}"
            replica.client.put_object(Bucket=store.bucket, Key=rival, Body=theirs)
            raced.append(rival)

    store.client.meta.events.register("provide-client-params.s3.PutObject", rival_first)

    async def scenario() -> None:
        upload = await store.start_upload()
        with pytest.raises(RangeInvalid) as lost:
            await store.append_upload(upload, 0, _one(ours))
        assert lost.value.extra == {"received": len(theirs)}
        assert await replica.upload_size(upload) == len(theirs)
        digest = Digest("sha256", hashlib.sha256(theirs).hexdigest())
        stat = await store.finish_upload(upload, digest)
        assert stat.size == len(theirs)
        assert await _digest_of(replica.open(digest)) == digest

    asyncio.run(scenario())
    replica.close()
    assert raced
    assert [key.split("/")[0] for key in _keys(store)] == ["sha256"]


def test_session_closed_where_it_was_written_is_copied_not_reread(store: S3BlobStore) -> None:
    """The usual push (one PATCH, then PUT): the running hash and one server-side copy."""
    size = DEFAULT_PART_BYTES + 99
    reads = _count_calls(store, "GetObject")

    async def scenario() -> None:
        expected = await _digest_of(_generated(size))
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(size))
        parts = _count_calls(store, "UploadPart")
        stat = await store.finish_upload(upload, expected)
        assert parts == []  # no byte went through the registry again
        assert reads == []
        assert await _digest_of(store.open(stat.digest)) == expected

    asyncio.run(scenario())
    assert [key.split("/")[0] for key in _keys(store)] == ["sha256"]


def test_a_reread_session_is_joined_while_it_is_hashed_and_refused_unseen(
    store: S3BlobStore, seaweedfs: SeaweedFS
) -> None:
    """Closed on a replica that saw none of it, with a wrong digest: the copies ran
    alongside the re-hash, yet nothing appears under the digest and no upload is left."""
    replica = _open(seaweedfs, store.prefix)
    copied_parts = _count_calls(replica, "UploadPartCopy")
    aborted = _count_calls(replica, "AbortMultipartUpload")
    size = DEFAULT_PART_BYTES + 5
    wrong = Digest("sha256", "2" * 64)

    async def scenario() -> None:
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(size, seed=b"x"))
        with pytest.raises(DigestInvalid):
            await replica.finish_upload(upload, wrong)
        assert await replica.stat(wrong) is None

    asyncio.run(scenario())
    replica.close()
    assert aborted == [1]
    assert len(copied_parts) <= 1  # sent while hashing, unless the mismatch was first
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


def test_a_large_chunk_is_joined_in_ranges(
    store: S3BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One PATCH bigger than a copy range: its copy goes up as several ranged parts."""
    monkeypatch.setattr(s3_module, "_COPY_RANGE_BYTES", 5 * MiB + 1)
    size = 2 * DEFAULT_PART_BYTES + 3  # 16 MiB: four ranges of the size set, three of 5 MiB+
    ranges: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        ranges.append(params["CopySourceRange"])

    store.client.meta.events.register("provide-client-params.s3.UploadPartCopy", seen)

    async def scenario() -> None:
        expected = await _digest_of(_generated(size))
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(size))
        stat = await store.finish_upload(upload, expected)
        assert await _digest_of(store.open(stat.digest)) == expected

    asyncio.run(scenario())
    # At most size // 5 MiB pieces, so none falls below S3's floor for a part.
    bounds = [index * size // 3 for index in range(4)]
    assert sorted(ranges) == sorted(f"bytes={a}-{b - 1}" for a, b in itertools.pairwise(bounds))
    assert [key.split("/")[0] for key in _keys(store)] == ["sha256"]


@pytest.mark.parametrize(
    ("sizes", "parts"),
    [
        ([], []),
        ([6 * MiB, 100], [("k0", None), ("k1", None)]),
        ([64 * MiB], [("k0", None)]),
        (
            [64 * MiB + 1],
            [("k0", f"bytes=0-{32 * MiB - 1}"), ("k0", f"bytes={32 * MiB}-{64 * MiB}")],
        ),
    ],
)
def test_copy_plans_split_large_chunks_evenly(
    sizes: list[int], parts: list[tuple[str, str | None]]
) -> None:
    segments, offset = [], 0
    for index, size in enumerate(sizes):
        segments.append((offset, f"k{index}", size))
        offset += size
    assert _copy_plan(segments) == parts


def test_copy_plan_pieces_never_fall_below_the_part_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "_COPY_RANGE_BYTES", 5 * MiB)
    size = 15 * MiB + 1  # four ranges of at most 5 MiB would leave one a byte long
    plan = _copy_plan([(0, "k", size)])
    assert plan is not None and len(plan) == 3
    for _, byte_range in plan:
        assert byte_range is not None
        first, last = map(int, byte_range.removeprefix("bytes=").split("-"))
        assert last - first + 1 >= 5 * MiB


def test_no_copy_plan_for_small_chunks_or_too_many_parts() -> None:
    assert _copy_plan([(0, "a", 100), (100, "b", 6 * MiB)]) is None
    many = [(index * 6 * MiB, f"k{index}", 6 * MiB) for index in range(10_001)]
    assert _copy_plan(many) is None


def test_session_of_a_wrong_digest_is_discarded_after_a_large_append(store: S3BlobStore) -> None:
    async def scenario() -> None:
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(DEFAULT_PART_BYTES + 1))
        with pytest.raises(DigestInvalid):
            await store.finish_upload(upload, Digest("sha256", "1" * 64))

    asyncio.run(scenario())
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


def test_failed_large_append_leaves_no_upload_behind(store: S3BlobStore) -> None:
    class Gone(Exception):
        pass

    async def broken() -> AsyncIterator[bytes]:
        async for chunk in _generated(DEFAULT_PART_BYTES + 1):
            yield chunk
        raise Gone

    async def scenario() -> None:
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(10))
        with pytest.raises(Gone):
            await store.append_upload(upload, 10, broken())
        assert await store.upload_size(upload) == 10
        assert _multipart_uploads(store) == []
        await store.abort_upload(upload)

    asyncio.run(scenario())
    assert _keys(store) == []


def test_sweep_removes_what_crashed_uploads_left(store: S3BlobStore) -> None:
    async def scenario() -> Digest:
        stat = await store.put(_generated(100))
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(10))
        return stat.digest

    kept = asyncio.run(scenario())
    store.client.create_multipart_upload(Bucket=store.bucket, Key=store.prefix + "sha256/ab/x")
    store.client.put_object(Bucket=store.bucket, Key=store.prefix + "_uploads/stage", Body=b"x")
    assert store.sweep_stale_uploads(older_than=3600) == 0  # all of it is fresh
    assert store.sweep_stale_uploads(older_than=-60) == 4  # upload, stage, marker, chunk
    assert _keys(store) == [store.key_for(kept)[len(store.prefix) :]]
    assert _multipart_uploads(store) == []


def test_open_blob_store_maps_locations(tmp_path: Path) -> None:
    s3 = open_blob_store(
        "s3://models/registry/blobs",
        endpoint_url="http://127.0.0.1:9",
        access_key_id="k",
        secret_access_key="s",
    )
    assert isinstance(s3, S3BlobStore)
    assert (s3.bucket, s3.prefix) == ("models", "registry/blobs/")
    s3.close()
    bare = open_blob_store("s3://models")
    assert isinstance(bare, S3BlobStore) and bare.prefix == ""
    bare.close()
    for location in (str(tmp_path / "a"), f"file://{tmp_path / 'b'}", tmp_path / "c"):
        local = open_blob_store(location)
        assert isinstance(local, FilesystemBlobStore)
        assert local.root.name == str(location)[-1]
        local.close()
    for wrong in ("gs://bucket/x", "s3:///no-bucket", "file://elsewhere/x"):
        with pytest.raises(ValueError, match="blob store"):
            open_blob_store(wrong)


def test_inventory_names_stray_keys_and_unfinished_uploads(store: S3BlobStore) -> None:
    blob = asyncio.run(store.put(_generated(4)))
    misplaced = store.key_for(blob.digest).replace("/sha256/", "/sha256/zz/")
    for key in (misplaced, f"{store.prefix}notes.txt", f"{store.prefix}_uploads/abc"):
        store.client.put_object(Bucket=store.bucket, Key=key, Body=b"x")
    store.client.create_multipart_upload(Bucket=store.bucket, Key=f"{store.prefix}_uploads/def")
    listed = asyncio.run(store.inventory())
    assert listed.blobs == {str(blob.digest): 4}
    assert listed.stray == tuple(sorted([misplaced[len(store.prefix) :], "notes.txt"]))
    assert listed.uploads == ("abc", "multipart:_uploads/def")


def test_a_part_body_reads_and_seeks_across_its_chunks() -> None:
    """botocore reads a part to sign it, seeks back, and reads it again to send it."""
    body = ChunksBody([b"ab", b"", b"cde", b"f"])
    assert body.seek(0, io.SEEK_END) == 6
    body.seek(0)
    assert body.read(4) == b"abcd"
    body.seek(1)
    assert body.read(3) == b"bcd"
    assert body.tell() == 4
    body.seek(-2, io.SEEK_CUR)
    assert body.read() == b"cdef"
    assert body.read() == b""
