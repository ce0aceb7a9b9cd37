"""Fill a migrated SQLite database with a large log fast (benchmarks and the 1M-entry test).

The rows are exactly what the log writer would store — entries, every completed
subtree from :class:`registry.tlog.tree.Frontier`, one signed checkpoint — but
inserted with one ``executemany`` per table instead of one transaction per batch,
so a million entries take seconds rather than minutes.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from registry.tlog.queries import node_key
from registry.tlog.signer import LogSigner
from registry.tlog.tree import Frontier, hash_leaf


def entry_body(index: int) -> bytes:
    """The body of synthetic entry ``index``: hashes only, like the hub's."""
    return b'{"image":"sha256:%064x"}' % index


def fill_sqlite(path: Path, size: int, signer: LogSigner, *, entries: bool = True) -> bytes:
    """Append entries 0..size-1 to an empty migrated log at ``path``; return the root.

    ``entries=False`` stores only the tree (subtree hashes and the checkpoint):
    proofs by index need nothing else, and it halves the time to build.
    """
    bodies = [entry_body(i) for i in range(size)]
    leaves = [hash_leaf(b) for b in bodies]
    frontier = Frontier()
    nodes = frontier.append(leaves)
    root = frontier.root()
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")  # a scratch database: no durability needed
        with connection:
            if entries:
                connection.executemany(
                    "INSERT INTO tlog_entries (idx, leaf_hash, body, integrated_at) "
                    "VALUES (?,?,?,?)",
                    ((i, leaves[i], bodies[i], stamp) for i in range(size)),
                )
            connection.executemany(
                "INSERT INTO tlog_nodes (node_id, hash) VALUES (?,?)",
                ((node_key(level, index), value) for level, index, value in nodes),
            )
            connection.execute(
                "INSERT INTO tlog_checkpoints (tree_size, root_hash, note, created_at) "
                "VALUES (?,?,?,?)",
                (size, root, signer.checkpoint(size, root), stamp),
            )
    finally:
        connection.close()
    return root
