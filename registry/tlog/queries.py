"""SQL for the log: the only module that reads or writes the tlog tables.

Rows are only ever inserted; reads are point lookups by primary key (nodes,
checkpoints, entries) or by the leaf-hash index. The writer works through a
synchronous Core connection on its own thread (see :mod:`registry.tlog.log`); readers
use the service's async sessions (``read_*``). Both share the statements here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Row, Select, Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import TlogCheckpoint, TlogEntry, TlogNode
from registry.db.types import utcnow
from registry.db.upsert import insert_ignore
from registry.tlog.records import SignedCheckpoint, StoredEntry
from registry.tlog.tree import NodeId

_ENTRIES: Table = TlogEntry.__table__  # type: ignore[assignment]
_NODES: Table = TlogNode.__table__  # type: ignore[assignment]
_CHECKPOINTS: Table = TlogCheckpoint.__table__  # type: ignore[assignment]

# One advisory-lock key for every replica's log writer (PostgreSQL); "tlog" in ASCII.
_WRITER_LOCK = 0x746C6F67
# A tree never holds 2**56 leaves, so level and index pack into one signed 64-bit key.
_LEVEL_SHIFT = 56
_INDEX_MASK = (1 << _LEVEL_SHIFT) - 1
# Keeps each IN (...) list well inside both engines' parameter limits.
_CHUNK = 500


@cache
def _insert_into(table: Table) -> Insert:
    """One statement object per table, so SQLAlchemy's compiled cache is hit every time."""
    return insert(table)


def insert_row(connection: Connection, table: Table, values: Mapping[str, Any]) -> None:
    """Insert one row a ledger caller asked for, on the writer's connection."""
    connection.execute(_insert_into(table), [values])


async def add_empty_checkpoint(session: AsyncSession, root_hash: bytes, note: str) -> None:
    """Record the empty tree's checkpoint unless the log already has one."""
    await insert_ignore(
        session,
        _CHECKPOINTS,
        {"tree_size": 0, "root_hash": root_hash, "note": note, "created_at": utcnow()},
    )


def lock_writer(connection: Connection) -> None:
    """Serialise log writers across processes for this transaction (PostgreSQL).

    SQLite has one writer at a time anyway; a lost race there surfaces as a
    primary-key or busy error and the batch is retried on fresh state.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITER_LOCK})


_LATEST = (
    select(TlogCheckpoint.tree_size, TlogCheckpoint.root_hash, TlogCheckpoint.note)
    .order_by(TlogCheckpoint.tree_size.desc())
    .limit(1)
)


def _checkpoint(row: Row[int, bytes, str] | None) -> SignedCheckpoint | None:
    return None if row is None else SignedCheckpoint(row[0], bytes(row[1]), row[2])


def latest_checkpoint(connection: Connection) -> SignedCheckpoint | None:
    return _checkpoint(connection.execute(_LATEST).first())


async def read_latest_checkpoint(session: AsyncSession) -> SignedCheckpoint | None:
    return _checkpoint((await session.execute(_LATEST)).first())


def node_key(level: int, index: int) -> int:
    """The primary key of node ``(level, index)``: ``level * 2**56 + index``."""
    return level << _LEVEL_SHIFT | index


def _node_queries(ids: Iterable[NodeId]) -> list[Select[int, bytes]]:
    """Primary-key lookups of ``ids``, one query per chunk."""
    keys = sorted({node_key(level, index) for level, index in ids})
    return [
        select(TlogNode.node_id, TlogNode.hash).where(
            TlogNode.node_id.in_(keys[start : start + _CHUNK])
        )
        for start in range(0, len(keys), _CHUNK)
    ]


def _found(rows: Iterable[Row[int, bytes]], into: dict[NodeId, bytes]) -> None:
    for key, value in rows:
        into[(key >> _LEVEL_SHIFT, key & _INDEX_MASK)] = bytes(value)


def load_nodes(connection: Connection, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """The stored hashes of ``ids``."""
    found: dict[NodeId, bytes] = {}
    for query in _node_queries(ids):
        _found(connection.execute(query), found)
    return found


async def read_nodes(session: AsyncSession, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """The stored hashes of ``ids``."""
    found: dict[NodeId, bytes] = {}
    for query in _node_queries(ids):
        _found(await session.execute(query), found)
    return found


def insert_batch(
    connection: Connection,
    *,
    first_index: int,
    leaf_hashes: Sequence[bytes],
    bodies: Sequence[bytes],
    integrated_at: datetime,
    nodes: Sequence[tuple[int, int, bytes]],
    checkpoint: SignedCheckpoint,
    created_at: datetime,
) -> None:
    entries = [
        {"idx": first_index + i, "leaf_hash": h, "body": b, "integrated_at": integrated_at}
        for i, (h, b) in enumerate(zip(leaf_hashes, bodies, strict=True))
    ]
    node_rows = [{"node_id": node_key(level, i), "hash": value} for level, i, value in nodes]
    # executemany: SQLAlchemy batches these itself within each driver's limits.
    connection.execute(insert(_ENTRIES), entries)
    connection.execute(insert(_NODES), node_rows)
    connection.execute(
        insert(_CHECKPOINTS),
        [
            {
                "tree_size": checkpoint.tree_size,
                "root_hash": checkpoint.root_hash,
                "note": checkpoint.note,
                "created_at": created_at,
            }
        ],
    )


async def entries_between(session: AsyncSession, start: int, end: int) -> list[StoredEntry]:
    rows = await session.execute(
        select(TlogEntry.idx, TlogEntry.leaf_hash, TlogEntry.body, TlogEntry.integrated_at)
        .where(TlogEntry.idx >= start, TlogEntry.idx < end)
        .order_by(TlogEntry.idx)
    )
    return [StoredEntry(i, bytes(h), bytes(b), t) for i, h, b, t in rows]


async def entries_at(session: AsyncSession, indexes: Iterable[int]) -> list[StoredEntry]:
    """The entries at ``indexes`` that exist, in index order."""
    wanted = sorted(set(indexes))
    found: list[StoredEntry] = []
    for start in range(0, len(wanted), _CHUNK):
        rows = await session.execute(
            select(TlogEntry.idx, TlogEntry.leaf_hash, TlogEntry.body, TlogEntry.integrated_at)
            .where(TlogEntry.idx.in_(wanted[start : start + _CHUNK]))
            .order_by(TlogEntry.idx)
        )
        found += [StoredEntry(i, bytes(h), bytes(b), t) for i, h, b, t in rows]
    return found


async def first_index_of(session: AsyncSession, leaf_hash: bytes, below: int) -> int | None:
    """The lowest index holding ``leaf_hash`` inside a tree of size ``below``."""
    row = (
        await session.execute(
            select(TlogEntry.idx)
            .where(TlogEntry.leaf_hash == leaf_hash, TlogEntry.idx < below)
            .order_by(TlogEntry.idx)
            .limit(1)
        )
    ).first()
    return None if row is None else int(row[0])
