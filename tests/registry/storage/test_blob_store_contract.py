"""The contract every blob-store backend must pass: the filesystem and S3 (on SeaweedFS).

Add a backend by adding a parameter to the ``store`` fixture.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from registry.digests import Digest
from registry.errors import (
    BlobUnknown,
    BlobUploadUnknown,
    DigestInvalid,
    PayloadTooLarge,
    RangeInvalid,
)
from registry.storage import BlobStore, FilesystemBlobStore
from registry.storage.s3 import S3BlobStore
from tests.support.seaweedfs import SeaweedFS


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    backend: FilesystemBlobStore | S3BlobStore
    if request.param == "filesystem":
        backend = FilesystemBlobStore(tmp_path / "blobs")
    else:
        server: SeaweedFS = request.getfixturevalue("seaweedfs")
        backend = S3BlobStore(
            server.bucket,
            f"contract-{uuid.uuid4().hex}",  # each test its own corner of the bucket
            endpoint_url=server.endpoint_url,
            access_key_id=server.access_key_id,
            secret_access_key=server.secret_access_key,
        )
    yield backend
    backend.close()


def _digest(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _read(store: BlobStore, digest: Digest, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.open(digest, start, end)])


def _visible_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_put_returns_verified_digest_and_round_trips(store: BlobStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # spans several batches, odd tail

    async def scenario() -> None:
        stat = await store.put(_chunks(data), expected=_digest(data))
        assert stat.digest == _digest(data)
        assert stat.size == len(data)
        assert await _read(store, stat.digest) == data
        assert (await store.stat(stat.digest)) == stat

    asyncio.run(scenario())


def test_put_without_expected_digest_computes_it(store: BlobStore) -> None:
    async def scenario() -> None:
        stat = await store.put(_chunks(b"abc"))
        assert str(stat.digest) == "sha256:" + hashlib.sha256(b"abc").hexdigest()

    asyncio.run(scenario())


def test_empty_blob(store: BlobStore) -> None:
    async def scenario() -> None:
        stat = await store.put(_chunks(b""), expected=_digest(b""))
        assert stat.size == 0
        assert await _read(store, stat.digest) == b""

    asyncio.run(scenario())


def test_byte_ranges(store: BlobStore) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB

    async def scenario() -> None:
        stat = await store.put(_chunks(data))
        assert await _read(store, stat.digest, 0, 10) == data[:10]
        assert await _read(store, stat.digest, 1_500_000, None) == data[1_500_000:]
        assert await _read(store, stat.digest, 1_048_570, 1_048_590) == data[1_048_570:1_048_590]

    asyncio.run(scenario())


def test_mismatched_digest_leaves_nothing(store: BlobStore, tmp_path: Path) -> None:
    data = b"the real bytes" * 100000
    wrong = _digest(b"other bytes")

    async def scenario() -> None:
        with pytest.raises(DigestInvalid, match="does not match"):
            await store.put(_chunks(data), expected=wrong)
        assert await store.stat(wrong) is None
        assert await store.stat(_digest(data)) is None

    asyncio.run(scenario())
    assert _visible_files(tmp_path) == []


def test_interrupted_stream_leaves_nothing(store: BlobStore, tmp_path: Path) -> None:
    class Gone(Exception):
        pass

    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 3 * 1024 * 1024
        raise Gone

    async def scenario() -> None:
        with pytest.raises(Gone):
            await store.put(broken())

    asyncio.run(scenario())
    assert _visible_files(tmp_path) == []


def test_cancelled_put_leaves_nothing(store: BlobStore, tmp_path: Path) -> None:
    async def slow() -> AsyncIterator[bytes]:
        while True:
            yield b"y" * 1024 * 1024
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        task = asyncio.create_task(store.put(slow()))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert _visible_files(tmp_path) == []


def test_over_size_limit_leaves_nothing(store: BlobStore, tmp_path: Path) -> None:
    async def scenario() -> None:
        with pytest.raises(PayloadTooLarge):
            await store.put(_chunks(b"z" * 5000), max_bytes=4096)

    asyncio.run(scenario())
    assert _visible_files(tmp_path) == []


def test_same_content_twice_is_stored_once(store: BlobStore) -> None:
    async def scenario() -> None:
        first = await store.put(_chunks(b"dup"))
        second = await store.put(_chunks(b"dup"))
        assert first == second
        assert await _read(store, first.digest) == b"dup"

    asyncio.run(scenario())


def test_unknown_blob(store: BlobStore) -> None:
    missing = _digest(b"never stored")

    async def scenario() -> None:
        assert await store.stat(missing) is None
        with pytest.raises(BlobUnknown):
            await _read(store, missing)
        assert await store.delete(missing) is False

    asyncio.run(scenario())


def test_delete(store: BlobStore) -> None:
    async def scenario() -> None:
        stat = await store.put(_chunks(b"to delete"))
        assert await store.delete(stat.digest) is True
        assert await store.stat(stat.digest) is None

    asyncio.run(scenario())


def test_ping(store: BlobStore) -> None:
    asyncio.run(store.ping())


def test_concurrent_puts(store: BlobStore) -> None:
    payloads = [os.urandom(1024 * 1024 + i) for i in range(6)]

    async def scenario() -> None:
        stats = await asyncio.gather(*(store.put(_chunks(p)) for p in payloads))
        for payload, stat in zip(payloads, stats, strict=True):
            assert await _read(store, stat.digest) == payload

    asyncio.run(scenario())


def test_stale_uploads_are_swept(tmp_path: Path) -> None:
    backend = FilesystemBlobStore(tmp_path / "blobs")
    stale = tmp_path / "blobs" / "_uploads" / "deadbeef"
    stale.write_bytes(b"left by a crash")
    os.utime(stale, (0, 0))
    fresh = tmp_path / "blobs" / "_uploads" / "cafe"
    fresh.write_bytes(b"in progress")
    assert backend.sweep_stale_uploads() == 1
    assert not stale.exists()
    assert fresh.exists()
    backend.close()


def test_many_tiny_chunks(store: BlobStore) -> None:
    """A client dribbling one byte per message still stores exactly its bytes."""
    data = os.urandom(5000)

    async def tiny() -> AsyncIterator[bytes]:
        for i in range(len(data)):
            yield data[i : i + 1]

    async def scenario() -> None:
        stat = await store.put(tiny(), expected=_digest(data))
        assert await _read(store, stat.digest) == data

    asyncio.run(scenario())


def test_resumable_upload_in_chunks(store: BlobStore) -> None:
    data = os.urandom(2 * 1024 * 1024 + 333)
    parts = [data[:1000], data[1000 : 1024 * 1024], data[1024 * 1024 :]]

    async def scenario() -> None:
        upload = await store.start_upload()
        offset = 0
        for part in parts:
            offset = await store.append_upload(upload, offset, _chunks(part))
            assert await store.upload_size(upload) == offset
        stat = await store.finish_upload(upload, _digest(data))
        assert stat.size == len(data)
        assert await _read(store, stat.digest) == data
        with pytest.raises(BlobUploadUnknown):
            await store.upload_size(upload)  # consumed

    asyncio.run(scenario())


def test_out_of_order_chunk_is_refused_and_changes_nothing(store: BlobStore) -> None:
    async def scenario() -> None:
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _chunks(b"abc"))
        with pytest.raises(RangeInvalid):
            await store.append_upload(upload, 10, _chunks(b"def"))
        with pytest.raises(RangeInvalid):
            await store.append_upload(upload, 0, _chunks(b"def"))
        assert await store.upload_size(upload) == 3
        stat = await store.finish_upload(upload, _digest(b"abc"))
        assert await _read(store, stat.digest) == b"abc"

    asyncio.run(scenario())


def test_failed_chunk_leaves_the_session_where_it_was(store: BlobStore) -> None:
    class Gone(Exception):
        pass

    async def broken() -> AsyncIterator[bytes]:
        yield b"partial" * 100000
        raise Gone

    async def scenario() -> None:
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _chunks(b"first"))
        with pytest.raises(Gone):
            await store.append_upload(upload, 5, broken())
        assert await store.upload_size(upload) == 5
        await store.append_upload(upload, 5, _chunks(b"second"))
        stat = await store.finish_upload(upload, _digest(b"firstsecond"))
        assert await _read(store, stat.digest) == b"firstsecond"

    asyncio.run(scenario())


def test_session_finished_with_the_wrong_digest_is_discarded(store: BlobStore) -> None:
    async def scenario() -> None:
        upload = await store.start_upload()
        await store.append_upload(upload, 0, _chunks(b"bytes"))
        with pytest.raises(DigestInvalid):
            await store.finish_upload(upload, _digest(b"other"))
        assert await store.stat(_digest(b"bytes")) is None
        with pytest.raises(BlobUploadUnknown):
            await store.upload_size(upload)

    asyncio.run(scenario())


def test_session_continued_by_another_process_rehashes(tmp_path: Path) -> None:
    """A session resumed by a replica without the running hash still verifies."""
    first = FilesystemBlobStore(tmp_path / "blobs")
    second = FilesystemBlobStore(tmp_path / "blobs")

    async def scenario() -> None:
        upload = await first.start_upload()
        await first.append_upload(upload, 0, _chunks(b"one-"))
        await second.append_upload(upload, 4, _chunks(b"two"))
        stat = await second.finish_upload(upload, _digest(b"one-two"))
        assert await _read(first, stat.digest) == b"one-two"

    asyncio.run(scenario())
    first.close()
    second.close()


@pytest.mark.parametrize("upload_id", ["../../etc", "x" * 32, "", "A" * 32])
def test_unknown_or_malformed_session_ids(store: BlobStore, upload_id: str) -> None:
    async def scenario() -> None:
        with pytest.raises(BlobUploadUnknown):
            await store.upload_size(upload_id)
        with pytest.raises(BlobUploadUnknown):
            await store.append_upload(upload_id, 0, _chunks(b"x"))

    asyncio.run(scenario())
