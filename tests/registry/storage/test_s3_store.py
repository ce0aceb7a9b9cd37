"""What the S3 blob store promises beyond the shared contract, on a real SeaweedFS.

Nothing partial is ever visible (the bucket is listed, multipart uploads too),
large blobs go up in parts, memory stays bounded both ways, and upload
sessions live in the bucket so another replica can continue them.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.digests import Digest
from registry.errors import DigestInvalid, PayloadTooLarge, RangeInvalid
from registry.storage import FilesystemBlobStore, open_blob_store, s3_parts
from registry.storage.s3 import DEFAULT_PART_BYTES, DEFAULT_PARTS_IN_FLIGHT, S3BlobStore
from registry.storage.s3_parts import ChunksBody
from registry.storage.s3_sessions import SessionState, step_name
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

    The store that closes it never saw the second chunk, so it completes the
    session's upload and reads it back once to hash it; no byte is copied.
    """
    replica = _open(seaweedfs, store.prefix)
    big = DEFAULT_PART_BYTES + 5  # one part, and a tail of 5 bytes
    copies = _count_calls(store, "UploadPartCopy") + _count_calls(store, "CopyObject")
    completed = _count_calls(store, "CompleteMultipartUpload")

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
        assert await replica.stat(stat.digest) == stat
        assert _keys(store) == [f"_objects/{upload}", _ref(expected, upload)]

    asyncio.run(scenario())
    replica.close()
    assert copies == []
    assert completed == [1]
    assert _multipart_uploads(store) == []


def _ref(digest: Digest, upload: str) -> str:
    return f"_refs/sha256/{digest.hex[:2]}/{digest.hex}/{upload}"


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _rival_step(store: S3BlobStore, upload: str, data: bytes) -> str:
    """What another replica records when it appends ``data`` at byte 0 (all of it a tail);
    its tag sorts before any random one, so it is the chain's."""
    key = f"{store.prefix}_sessions/{upload}/{step_name(0, len(data), '0' * 32)}"
    store.client.put_object(Bucket=store.bucket, Key=key, Body=SessionState(tail=data).encode())
    return key


def test_a_replica_racing_at_the_same_offset_cannot_swap_the_verified_bytes(
    store: S3BlobStore,
) -> None:
    """Another replica's step at the same offset wins the chain after this one appended.

    This store's running hash covers its own bytes; the session now holds other
    bytes at that offset. Closing with the digest of this store's bytes must not
    publish the other bytes under it: the cached hash no longer matches the chain,
    so the close hashes what the bucket holds, and refuses.
    """
    good, evil = b"good bytes " * 100, b"evil bytes " * 100

    async def scenario() -> None:
        upload = await store.start_upload()
        assert await store.append_upload(upload, 0, _one(good)) == len(good)
        _rival_step(store, upload, evil)
        good_digest = Digest("sha256", hashlib.sha256(good).hexdigest())
        with pytest.raises(DigestInvalid):
            await store.finish_upload(upload, good_digest)
        assert await store.stat(good_digest) is None

    asyncio.run(scenario())
    assert _keys(store) == []


def test_a_raced_part_is_not_the_part_completed(store: S3BlobStore) -> None:
    """A part overwritten after its append recorded it (a raced append on another
    replica) is not what the close completes: the step's ETag names the bytes hashed."""
    size = 6 * MiB  # one part, no tail

    async def scenario() -> None:
        expected = await _digest_of(_generated(size, seed=b"kept"))
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(size, seed=b"kept"))
        [multipart] = store.client.list_multipart_uploads(
            Bucket=store.bucket, Prefix=f"{store.prefix}_objects/{upload}"
        )["Uploads"]
        store.client.upload_part(
            Bucket=store.bucket,
            Key=multipart["Key"],
            UploadId=multipart["UploadId"],
            PartNumber=1,
            Body=b"x" * size,
        )
        try:
            stat = await store.finish_upload(upload, expected)
        except DigestInvalid:  # S3 proper refuses a part whose ETag changed
            assert await store.stat(expected) is None
            return
        assert await _digest_of(store.open(stat.digest)) == expected  # SeaweedFS: the kept one

    asyncio.run(scenario())
    assert _multipart_uploads(store) == []


def test_an_append_that_loses_the_race_is_answered_416_and_dropped(
    store: S3BlobStore, seaweedfs: SeaweedFS
) -> None:
    """Both replicas saw offset 0; the rival's step lands first in the chain."""
    ours, theirs = b"a" * 300, b"b" * 200
    replica = _open(seaweedfs, store.prefix)
    raced: list[str] = []

    def rival_first(params: dict[str, Any], **_: Any) -> None:
        key = params["Key"]
        if "/_sessions/" in f"/{key}" and not key.endswith("session") and not raced:
            raced.append(_rival_step(replica, key.split("/")[-2], theirs))

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


def test_a_session_closed_where_it_was_written_is_completed_not_copied(
    store: S3BlobStore,
) -> None:
    """The usual push (one PATCH, then PUT): the running hash, the tail sent as the last
    part, one completion; no byte is copied or read back."""
    size = DEFAULT_PART_BYTES + 99
    object_reads: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        if "/_sessions/" not in f"/{params['Key']}":  # the last step's record is read
            object_reads.append(params["Key"])

    store.client.meta.events.register("provide-client-params.s3.GetObject", seen)

    async def scenario() -> None:
        expected = await _digest_of(_generated(size))
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(size))
        parts = _count_calls(store, "UploadPart")
        copies = _count_calls(store, "UploadPartCopy") + _count_calls(store, "CopyObject")
        stat = await store.finish_upload(upload, expected)
        assert parts == [1]  # the 99-byte tail
        assert copies == []
        assert object_reads == []
        assert await _digest_of(store.open(stat.digest)) == expected
        assert _keys(store) == [f"_objects/{upload}", _ref(expected, upload)]

    asyncio.run(scenario())
    assert _multipart_uploads(store) == []


@pytest.mark.parametrize(
    "chunk_sizes",
    [
        [16 * MiB, 16 * MiB, 3],  # custody push: two 8 MiB parts an append
        [MiB] * 13,  # small chunks: a tail carried until it makes a 5 MiB part
        [7 * MiB, 100, 6 * MiB, 4 * MiB + 1],
    ],
    ids=["16MiB", "1MiB", "mixed"],
)
def test_chunks_of_any_size_become_one_object(store: S3BlobStore, chunk_sizes: list[int]) -> None:
    async def scenario() -> None:
        pieces = [_generated(size, seed=bytes([index])) for index, size in enumerate(chunk_sizes)]

        async def whole() -> AsyncIterator[bytes]:
            for index, size in enumerate(chunk_sizes):
                async for chunk in _generated(size, seed=bytes([index])):
                    yield chunk

        expected = await _digest_of(whole())
        upload = await store.start_upload()
        offset = 0
        for piece in pieces:
            offset = await store.append_upload(upload, offset, piece)
        stat = await store.finish_upload(upload, expected)
        assert stat.size == sum(chunk_sizes)
        assert await _digest_of(store.open(stat.digest)) == expected
        assert await _digest_of(store.open(stat.digest, 5 * MiB - 3, 5 * MiB + 4)) == Digest(
            "sha256", await _slice_digest(whole(), 5 * MiB - 3, 5 * MiB + 4)
        )

    asyncio.run(scenario())
    assert _multipart_uploads(store) == []
    assert [key.split("/")[0] for key in _keys(store)] == ["_objects", "_refs"]


async def _slice_digest(chunks: AsyncIterator[bytes], start: int, end: int) -> str:
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) >= end:
            break
    return hashlib.sha256(bytes(data[start:end])).hexdigest()


def test_an_append_that_fails_after_sending_parts_leaves_the_session_as_it_was(
    store: S3BlobStore,
) -> None:
    """Its parts went into the session's upload but no step names them: the close
    completes only the recorded parts, and the retried append's bytes."""

    class Gone(Exception):
        pass

    async def broken() -> AsyncIterator[bytes]:
        async for chunk in _generated(2 * DEFAULT_PART_BYTES, seed=b"junk"):
            yield chunk
        raise Gone

    async def scenario() -> None:
        first = _generated(6 * MiB, seed=b"one")
        second = _generated(6 * MiB, seed=b"two")

        async def whole() -> AsyncIterator[bytes]:
            async for chunk in _generated(6 * MiB, seed=b"one"):
                yield chunk
            async for chunk in _generated(6 * MiB, seed=b"two"):
                yield chunk

        upload = await store.start_upload()
        offset = await store.append_upload(upload, 0, first)
        with pytest.raises(Gone):
            await store.append_upload(upload, offset, broken())
        assert await store.upload_size(upload) == offset
        offset = await store.append_upload(upload, offset, second)
        expected = await _digest_of(whole())
        stat = await store.finish_upload(upload, expected)
        assert await _digest_of(store.open(stat.digest)) == expected

    asyncio.run(scenario())
    assert _multipart_uploads(store) == []


def test_a_second_session_of_a_stored_digest_leaves_one_copy(store: S3BlobStore) -> None:
    size = 6 * MiB

    async def scenario() -> None:
        expected = await _digest_of(_generated(size))
        for _ in range(2):
            upload = await store.start_upload()
            await store.append_upload(upload, 0, _generated(size))
            assert await store.finish_upload(upload, expected) == (await store.stat(expected))
        assert [key.split("/")[0] for key in _keys(store)] == ["_objects", "_refs"]
        assert await store.delete(expected)
        assert await store.stat(expected) is None
        assert not await store.delete(expected)

    asyncio.run(scenario())
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


def test_a_reread_session_is_refused_unseen(store: S3BlobStore, seaweedfs: SeaweedFS) -> None:
    """Closed on a replica that saw none of it, with a wrong digest: the object it
    completed to hash is deleted, nothing appears under the digest, no upload is left."""
    replica = _open(seaweedfs, store.prefix)
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
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


def test_a_session_holds_at_most_s3s_part_count(
    store: S3BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_parts, "MAX_PARTS", 2)

    async def scenario() -> None:
        upload = await store.start_upload()
        offset = await store.append_upload(upload, 0, _generated(2 * DEFAULT_PART_BYTES))
        with pytest.raises(PayloadTooLarge, match="larger chunks"):
            await store.append_upload(upload, offset, _generated(DEFAULT_PART_BYTES))
        assert await store.upload_size(upload) == offset
        await store.abort_upload(upload)

    asyncio.run(scenario())
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


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


@pytest.mark.parametrize("closer", ["first", "second"])
def test_two_replicas_appending_at_once_never_publish_unhashed_bytes(
    store: S3BlobStore, seaweedfs: SeaweedFS, closer: str
) -> None:
    """Two replicas append different bytes at offset 0 at the same moment (parts included).

    Whatever the interleaving, a close either stores exactly the bytes of the digest it
    was given or refuses; and nothing is left in flight afterwards.
    """
    replica = _open(seaweedfs, store.prefix)
    size = DEFAULT_PART_BYTES + 6 * MiB  # two parts an append

    async def scenario() -> None:
        upload = await store.start_upload()
        digests = [await _digest_of(_generated(size, seed=seed)) for seed in (b"p", b"q")]
        outcomes = await asyncio.gather(
            store.append_upload(upload, 0, _generated(size, seed=b"p")),
            replica.append_upload(upload, 0, _generated(size, seed=b"q")),
            return_exceptions=True,
        )
        assert all(o == size or isinstance(o, RangeInvalid) for o in outcomes), outcomes
        assert size in outcomes
        index = 0 if closer == "first" else 1
        closing = (store, replica)[index]
        try:
            stat = await closing.finish_upload(upload, digests[index])
        except DigestInvalid:
            assert await store.stat(digests[index]) is None
            return
        assert await _digest_of(store.open(stat.digest)) == digests[index]

    asyncio.run(scenario())
    replica.close()
    assert not [key for key in _keys(store) if key.startswith("_sessions/")]
    # An append that lost without being able to tell may leave its upload: nobody's,
    # so the sweep takes it, and keeps the blob.
    blob = [key for key in _keys(store) if not key.startswith("_objects/")]
    store.sweep_stale_uploads(older_than=-60)
    assert _multipart_uploads(store) == []
    assert [key for key in _keys(store) if not key.startswith("_objects/")] == blob


_CHUNK_SIZES = st.lists(
    st.one_of(
        st.integers(0, 64),  # empty and tiny appends
        st.integers(MiB - 3, MiB + 3),
        st.integers(5 * MiB - 2, 5 * MiB + 2),  # around S3's part floor
        st.integers(DEFAULT_PART_BYTES - 2, DEFAULT_PART_BYTES + 2),  # around a part
        st.integers(0, 3 * DEFAULT_PART_BYTES // 2),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(chunk_sizes=_CHUNK_SIZES, continued=st.lists(st.booleans(), min_size=5, max_size=5))
def test_generated_chunk_sequences_store_exactly_their_bytes(
    store: S3BlobStore, seaweedfs: SeaweedFS, chunk_sizes: list[int], continued: list[bool]
) -> None:
    """Any sequence of append sizes, each on either of two replicas: the blob read back is
    the bytes sent, a wrong digest is refused, and the session leaves nothing behind."""
    replica = _open(seaweedfs, store.prefix)
    seeds = [bytes([index, len(chunk_sizes)]) for index in range(len(chunk_sizes))]

    async def whole() -> AsyncIterator[bytes]:
        for seed, size in zip(seeds, chunk_sizes, strict=True):
            async for chunk in _generated(size, chunk=MiB // 4, seed=seed):
                yield chunk

    async def scenario() -> None:
        expected = await _digest_of(whole())
        stores = [replica if other else store for other in continued]
        for wrong in (True, False):
            upload = await store.start_upload()
            offset = 0
            for index, (seed, size) in enumerate(zip(seeds, chunk_sizes, strict=True)):
                chunks = _generated(size, chunk=MiB // 4, seed=seed)
                offset = await stores[index].append_upload(upload, offset, chunks)
            assert offset == sum(chunk_sizes)
            closing = stores[len(chunk_sizes) - 1]
            if wrong:
                with pytest.raises(DigestInvalid):
                    await closing.finish_upload(upload, Digest("sha256", "3" * 64))
                assert not _keys(store) and not _multipart_uploads(store)
                continue
            stat = await closing.finish_upload(upload, expected)
            assert stat.size == offset
            assert await _digest_of(store.open(expected)) == expected
            assert await store.delete(expected)

    try:
        asyncio.run(scenario())
    finally:
        replica.close()
    assert _keys(store) == []
    assert _multipart_uploads(store) == []


def _stored_by_session(store: S3BlobStore, size: int, seed: bytes) -> tuple[Digest, str]:
    async def scenario() -> tuple[Digest, str]:
        expected = await _digest_of(_generated(size, seed=seed))
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(size, seed=seed))
        await store.finish_upload(upload, expected)
        return expected, upload

    return asyncio.run(scenario())


def test_inventory_counts_a_ref_as_its_blob_and_names_what_refs_do_not_explain(
    store: S3BlobStore,
) -> None:
    kept, session = _stored_by_session(store, 6 * MiB, b"kept")
    orphan = f"{store.prefix}_objects/{'e' * 32}"  # a close killed before its ref
    dangling = f"{store.prefix}_refs/sha256/ab/{'ab' * 32}/{'f' * 32}"  # its object is gone
    store.client.put_object(Bucket=store.bucket, Key=orphan, Body=b"x" * 10)
    store.client.put_object(Bucket=store.bucket, Key=dangling, Body=b"")
    listed = asyncio.run(store.inventory())
    assert listed.blobs == {str(kept): 6 * MiB}
    assert listed.uploads == (f"_objects/{'e' * 32}",)
    assert listed.stray == (dangling[len(store.prefix) :],)
    assert session not in listed.sessions  # consumed at the close


def test_sweep_keeps_live_sessions_and_refs_and_removes_orphan_objects(
    store: S3BlobStore,
) -> None:
    kept, _ = _stored_by_session(store, 6 * MiB, b"kept")
    orphan = f"{store.prefix}_objects/{'e' * 32}"
    store.client.put_object(Bucket=store.bucket, Key=orphan, Body=b"x" * 10)

    async def open_session() -> str:
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(6 * MiB, seed=b"live"))
        return upload

    live = asyncio.run(open_session())
    assert store.sweep_stale_uploads(older_than=3600) == 0  # everything is fresh
    assert orphan[len(store.prefix) :] in _keys(store)
    # Stale: the orphan, the live session's marker, step and multipart upload go; the
    # blob's object and ref stay.
    assert store.sweep_stale_uploads(older_than=-60) == 4
    assert _keys(store) == [f"_objects/{_only_session(store, kept)}", _ref_of(store, kept)]
    assert _multipart_uploads(store) == []
    assert live not in asyncio.run(store.inventory()).sessions


def _ref_of(store: S3BlobStore, digest: Digest) -> str:
    [ref] = [key for key in _keys(store) if key.startswith("_refs/")]
    assert ref.startswith(f"_refs/sha256/{digest.hex[:2]}/{digest.hex}/")
    return ref


def _only_session(store: S3BlobStore, digest: Digest) -> str:
    return _ref_of(store, digest).rpartition("/")[2]


def test_sweep_keeps_a_session_whose_append_is_still_sending_parts(store: S3BlobStore) -> None:
    """Its records are stale, but a part arrived since: an append is in flight.

    (SeaweedFS keeps whole seconds: the margins are a second or more.)"""

    async def open_session() -> str:
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _generated(6 * MiB, seed=b"slow"))
        return upload

    upload = asyncio.run(open_session())
    time.sleep(4)
    [multipart] = store.client.list_multipart_uploads(
        Bucket=store.bucket, Prefix=f"{store.prefix}_objects/{upload}"
    )["Uploads"]
    store.client.upload_part(  # what an append in flight sends before it records its step
        Bucket=store.bucket,
        Key=multipart["Key"],
        UploadId=multipart["UploadId"],
        PartNumber=2,
        Body=b"y" * (5 * MiB),
    )
    assert store.sweep_stale_uploads(older_than=3) == 0
    assert asyncio.run(store.upload_size(upload)) == 6 * MiB
    time.sleep(4)
    assert store.sweep_stale_uploads(older_than=3) == 3  # the upload, the marker, the step
    assert _keys(store) == []
    assert _multipart_uploads(store) == []
