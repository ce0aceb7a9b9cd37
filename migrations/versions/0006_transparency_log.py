"""transparency log (issue 8)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 01:40:00

Three append-only tables: entries, complete-subtree hashes, signed checkpoints.
Triggers on both engines refuse UPDATE and DELETE on them, so a bug (or a
stray statement) cannot rewrite history the signed checkpoints vouch for.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("tlog_entries", "tlog_nodes", "tlog_checkpoints")
_MESSAGE = "the transparency log is append-only"


def _id_type() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tlog_checkpoints",
        sa.Column("tree_size", _id_type(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column(
            "note", sa.Text(), nullable=False, comment="the signed checkpoint, exactly as served"
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(root_hash) = 32", name=op.f("ck_tlog_checkpoints_root_hash_length")
        ),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_tlog_checkpoints")),
    )
    op.create_table(
        "tlog_entries",
        sa.Column(
            "idx",
            _id_type(),
            autoincrement=False,
            nullable=False,
            comment="position in the log, from 0",
        ),
        sa.Column(
            "leaf_hash",
            sa.LargeBinary(length=32),
            nullable=False,
            comment="SHA-256(0x00 || body)",
        ),
        sa.Column("body", sa.LargeBinary(), nullable=False, comment="the exact bytes logged"),
        sa.Column("integrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("idx >= 0", name=op.f("ck_tlog_entries_idx_nonnegative")),
        sa.CheckConstraint("length(leaf_hash) = 32", name=op.f("ck_tlog_entries_leaf_hash_length")),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_tlog_entries")),
    )
    op.create_index(op.f("ix_tlog_entries_leaf_hash"), "tlog_entries", ["leaf_hash"], unique=False)
    op.create_table(
        "tlog_nodes",
        sa.Column(
            "node_id",
            _id_type(),
            autoincrement=False,
            nullable=False,
            comment="level * 2^56 + index",
        ),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.CheckConstraint("length(hash) = 32", name=op.f("ck_tlog_nodes_hash_length")),
        sa.CheckConstraint("node_id >= 0", name=op.f("ck_tlog_nodes_node_id_nonnegative")),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_tlog_nodes")),
    )
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION tlog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$"
        )
        for table in _TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tlog_refuse_change()"
            )
        return
    for table in _TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )


def downgrade() -> None:
    op.drop_table("tlog_nodes")
    op.drop_index(op.f("ix_tlog_entries_leaf_hash"), table_name="tlog_entries")
    op.drop_table("tlog_entries")
    op.drop_table("tlog_checkpoints")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS tlog_refuse_change()")
