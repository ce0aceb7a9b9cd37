"""The log service on both engines: batching, durability, replicas, append-only, fail-closed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from registry.db.engine import create_sync_engine
from registry.db.models import TlogCheckpoint
from registry.tlog import (
    EntryInvalid,
    EntryTooLarge,
    LogCorrupted,
    LogKeyInvalid,
    LogUnavailable,
    TransparencyLog,
)
from registry.tlog.queries import node_key
from tests.registry.tlog import reference
from tests.registry.tlog.conftest import open_log
from verifier.transparency import (
    VerifierKey,
    verify_checkpoint,
    verify_consistency,
    verify_receipt,
)


def _count_checkpoints(database_url: str) -> int:
    engine = create_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(TlogCheckpoint)).scalar_one()
            )
    finally:
        engine.dispose()


def test_concurrent_appends_are_batched_and_every_receipt_verifies(database_url, key_path):
    bodies = [f'{{"n":{i}}}'.encode() for i in range(120)]

    async def work() -> tuple[list[int], list[dict], str]:
        async with open_log(database_url, key_path) as tlog:
            entries = await asyncio.gather(*(tlog.append(b) for b in bodies))
            receipts = [(await tlog.receipt(e.index)).to_json() for e in entries]
            return [e.index for e in entries], receipts, tlog.verifier_key

    indexes, receipts, vkey = asyncio.run(work())
    assert sorted(indexes) == list(range(120))
    # One checkpoint per committed batch (plus the empty tree's): far fewer than entries.
    assert _count_checkpoints(database_url) < 30
    key = VerifierKey.parse(vkey)
    ordered = [b for _, b in sorted(zip(indexes, bodies, strict=True))]
    root = reference.mth([reference.leaf(b) for b in ordered])
    for index, body, receipt in zip(indexes, bodies, receipts, strict=True):
        verified = verify_receipt(receipt, key, entry=body)
        assert verified.log_index == index
        assert verified.checkpoint.root_hash == root


def test_the_log_continues_after_a_restart(database_url, key_path):
    async def first() -> str:
        async with open_log(database_url, key_path) as tlog:
            for i in range(5):
                await tlog.append(f"a{i}".encode())
            return (await tlog.checkpoint()).note

    async def second() -> tuple[list[int], str, list[bytes]]:
        async with open_log(database_url, key_path) as tlog:
            entries = [await tlog.append(f"b{i}".encode()) for i in range(3)]
            proof = await tlog.consistency_proof(5, 8)
            return [e.index for e in entries], (await tlog.checkpoint()).note, list(proof.hashes)

    old_note = asyncio.run(first())
    indexes, new_note, hashes = asyncio.run(second())
    assert indexes == [5, 6, 7]
    key = VerifierKey.parse(load_vkey(key_path))
    old, new = verify_checkpoint(old_note, key), verify_checkpoint(new_note, key)
    verify_consistency(old.tree_size, new.tree_size, hashes, old.root_hash, new.root_hash)


def load_vkey(key_path: Path) -> str:
    from registry.tlog import load_or_create_signer

    return load_or_create_signer(key_path, None).verifier_key


def test_two_replicas_appending_together_keep_one_consistent_tree(database_url, key_path):
    async def work() -> tuple[list[int], list[bytes], bytes]:
        async with (
            open_log(database_url, key_path) as one,
            open_log(database_url, key_path) as two,
        ):
            jobs = []
            for i in range(40):
                jobs.append(one.append(f"one {i}".encode()))
                jobs.append(two.append(f"two {i}".encode()))
            entries = await asyncio.gather(*jobs)
            stored = await one.entries(0, 80)
            return (
                [e.index for e in entries],
                [s.body for s in stored],
                (await two.checkpoint()).root_hash,
            )

    indexes, bodies, root = asyncio.run(work())
    assert sorted(indexes) == list(range(80))
    assert root == reference.mth([reference.leaf(b) for b in bodies])


def test_the_tables_refuse_update_and_delete(database_url, key_path):
    async def work() -> None:
        async with open_log(database_url, key_path) as tlog:
            await tlog.append(b"history")

    asyncio.run(work())
    engine = create_sync_engine(database_url)
    try:
        for table in ("tlog_entries", "tlog_nodes", "tlog_checkpoints"):
            # Table names come from the tuple above, never from input.
            statements = (f"DELETE FROM {table}", f"UPDATE {table} SET {_column(table)}")  # noqa: S608
            for statement in statements:
                with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                    connection.execute(text(statement))
    finally:
        engine.dispose()


def _column(table: str) -> str:
    return {
        "tlog_entries": "body = body",
        "tlog_nodes": "hash = hash",
        "tlog_checkpoints": "note = note",
    }[table]


def test_a_tampered_subtree_stops_appends_and_receipts(database_url, key_path):
    async def fill() -> None:
        async with open_log(database_url, key_path) as tlog:
            await asyncio.gather(*(tlog.append(f"e{i}".encode()) for i in range(6)))

    asyncio.run(fill())
    engine = create_sync_engine(database_url)
    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.begin() as connection:
            # Only an operator bypassing the triggers can do this: simulate exactly that.
            if postgres:
                connection.execute(text("ALTER TABLE tlog_nodes DISABLE TRIGGER USER"))
            else:
                connection.execute(text("DROP TRIGGER tlog_nodes_no_update"))
            connection.execute(
                text("UPDATE tlog_nodes SET hash = :h WHERE node_id = :k"),
                {"h": bytes(32), "k": node_key(2, 0)},
            )
            if postgres:
                connection.execute(text("ALTER TABLE tlog_nodes ENABLE TRIGGER USER"))

        async def use() -> None:
            async with open_log(database_url, key_path) as tlog:
                with pytest.raises(LogCorrupted, match="signed root"):
                    await tlog.append(b"more")
                with pytest.raises(LogCorrupted):
                    await tlog.receipt(1)
                assert (await tlog.checkpoint()).tree_size == 6  # nothing half-stored

        asyncio.run(use())
    finally:
        engine.dispose()


def test_entries_are_bounded_and_a_closed_log_refuses(database_url, key_path):
    async def work() -> None:
        async with open_log(database_url, key_path, max_entry_bytes=100) as tlog:
            with pytest.raises(EntryInvalid):
                await tlog.append(b"")
            with pytest.raises(EntryTooLarge, match="hashes, not inputs"):
                await tlog.append(b"x" * 101)
            closing: TransparencyLog = tlog
        with pytest.raises(LogUnavailable):
            await closing.append(b"late")

    asyncio.run(work())


def test_integrated_time_is_the_commit_time(database_url, key_path):
    with freeze_time("2026-11-23 02:00:00", real_asyncio=True):

        async def work() -> datetime:
            async with open_log(database_url, key_path) as tlog:
                entry = await tlog.append(b"timed")
                (stored,) = await tlog.entries(entry.index, entry.index + 1)
                assert stored.integrated_time == entry.integrated_time
                return entry.integrated_time

        assert asyncio.run(work()) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_appends_commit_durably(database_url, key_path):
    """A lost commit after power failure would let the log re-sign a size over other entries."""

    async def work() -> str:
        async with open_log(database_url, key_path) as tlog:
            assert tlog._writer_engine is not None
            with tlog._writer_engine.connect() as connection:
                if database_url.startswith("sqlite"):
                    return str(connection.execute(text("PRAGMA synchronous")).scalar_one())
                return str(connection.execute(text("SHOW synchronous_commit")).scalar_one())

    assert asyncio.run(work()) in {"2", "on"}  # SQLite FULL; PostgreSQL's durable default


def test_a_swapped_log_key_refuses_to_start(database_url, key_path, tmp_path):
    async def write() -> None:
        async with open_log(database_url, key_path) as tlog:
            await tlog.append(b"signed by the first key")

    async def restart_with_another_key() -> None:
        async with open_log(database_url, tmp_path / "other.key"):
            pass

    asyncio.run(write())
    with pytest.raises(LogKeyInvalid, match="restore the key"):
        asyncio.run(restart_with_another_key())


def test_entries_at_scattered_indexes_leave_out_what_the_log_does_not_hold(database_url, key_path):
    async def work() -> None:
        async with open_log(database_url, key_path) as tlog:
            for body in (b"zero", b"one", b"two"):
                await tlog.append(body)
            found = await tlog.entries_at([2, 0, 0, -1, 3, 2**62])
            assert sorted(found) == [0, 2]
            assert found[0].body == b"zero" and found[2].body == b"two"
            assert await tlog.entries_at([]) == {}

    asyncio.run(work())
