"""Entries with rows: what a caller records because it logged commits with the entry or not at
all (both engines)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from registry.audit.service import audit_row
from registry.db.engine import create_sync_engine
from registry.db.models import AuditEvent, TlogEntry
from registry.tlog import LogEntry, LogUnavailable, NewRow, Withdrawn
from tests.registry.tlog import reference
from tests.registry.tlog.conftest import open_log
from verifier.transparency import VerifierKey, verify_receipt


def _counts(database_url: str, subject: str) -> tuple[int, int]:
    """(log entries, audit events about ``subject``)."""
    engine = create_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            entries = connection.execute(select(func.count()).select_from(TlogEntry)).scalar_one()
            events = connection.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.subject == subject)
            ).scalar_one()
            return int(entries), int(events)
    finally:
        engine.dispose()


def _once(subject: str):  # type: ignore[no-untyped-def]
    """Rows for an audit event about ``subject``, unless one is already recorded."""

    def rows(connection: Connection, entry: LogEntry) -> Sequence[NewRow] | Withdrawn:
        found = connection.scalar(select(AuditEvent.detail).where(AuditEvent.subject == subject))
        if found is not None:
            return Withdrawn(found["logIndex"])
        detail = {"logIndex": entry.index}
        return [audit_row(actor="t", action="t", subject=subject, detail=detail)]

    return rows


def test_rows_commit_with_their_entry_and_a_second_claim_withdraws_even_in_one_batch(
    database_url, key_path
):
    async def work() -> list[LogEntry | Withdrawn]:
        async with open_log(database_url, key_path) as tlog:
            await tlog.append(b"before")
            return list(
                await asyncio.gather(
                    tlog.append_with_rows(b"claim one", _once("image:a")),
                    tlog.append_with_rows(b"claim two", _once("image:a")),
                    tlog.append_with_rows(b"other", _once("image:b")),
                )
            )

    first, second, other = asyncio.run(work())
    assert isinstance(first, LogEntry) and isinstance(other, LogEntry)
    assert second == Withdrawn(first.index)
    assert {first.index, other.index} == {1, 2}  # the withdrawn claim took no index
    assert _counts(database_url, "image:a") == (3, 1)


def test_a_callback_that_fails_fails_only_its_caller(database_url, key_path):
    def refuse(connection: Connection, entry: LogEntry) -> Sequence[NewRow]:
        raise ValueError("not this one")

    async def work() -> tuple[object, object]:
        async with open_log(database_url, key_path) as tlog:
            results = await asyncio.gather(
                tlog.append_with_rows(b"refused", refuse),
                tlog.append_with_rows(b"kept", _once("image:c")),
                return_exceptions=True,
            )
            return results[0], results[1]

    refused, kept = asyncio.run(work())
    assert isinstance(refused, ValueError) and str(refused) == "not this one"
    assert isinstance(kept, LogEntry) and kept.index == 0
    assert _counts(database_url, "image:c") == (1, 1)


def test_rows_the_database_refuses_leave_neither_rows_nor_entry(database_url, key_path):
    def broken(connection: Connection, entry: LogEntry) -> Sequence[NewRow]:
        # NOT NULL actor: the database refuses the insert, and with it the whole batch.
        table, values = audit_row(actor="t", action="t", subject="image:d")
        return [(table, {**values, "actor": None})]

    async def work() -> BaseException | LogEntry:
        async with open_log(database_url, key_path) as tlog:
            try:
                return await tlog.append_with_rows(b"doomed", broken)
            except LogUnavailable as exc:
                return exc

    outcome = asyncio.run(work())
    assert isinstance(outcome, LogUnavailable)
    assert _counts(database_url, "image:d") == (0, 0)


def test_receipts_built_by_the_writer_verify_independently(database_url, key_path):
    """Every entry comes back with a receipt against its own batch's checkpoint, built from
    the nodes in memory; each verifies with the verifier's RFC 9162 code and the reference."""
    sizes = [1, 2, 3, 1, 5, 4, 7, 1, 8, 2, 16, 3, 1, 6]

    async def work() -> tuple[list[list[tuple[bytes, LogEntry]]], str]:
        batches = []
        async with open_log(database_url, key_path) as tlog:
            for number, size in enumerate(sizes):
                bodies = [f"batch {number} entry {i}".encode() for i in range(size)]
                entries = await asyncio.gather(*(tlog.append(b) for b in bodies))
                batches.append(list(zip(bodies, entries, strict=True)))
            return batches, tlog.verifier_key

    batches, vkey = asyncio.run(work())
    key = VerifierKey.parse(vkey)
    leaves: list[bytes] = []
    checked = 0
    for batch in batches:
        leaves += [reference.leaf(body) for body, _ in sorted(batch, key=lambda p: p[1].index)]
        for body, entry in batch:
            assert entry.receipt is not None
            verified = verify_receipt(entry.receipt.to_json(), key, entry=body)
            assert verified.log_index == entry.index
            size = verified.checkpoint.tree_size
            assert entry.index < size <= len(leaves)
            assert verified.checkpoint.root_hash == reference.mth(leaves[:size])
            assert list(entry.receipt.hashes) == reference.path(entry.index, leaves[:size])
            checked += 1
    assert checked == sum(sizes)
