"""TUF repository state (issue 7)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tuf_metadata",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "role",
            sa.String(length=128),
            nullable=False,
            comment="root, targets, ... or a namespace",
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "content", sa.LargeBinary(), nullable=False, comment="the signed JSON, as served"
        ),
        sa.Column(
            "fingerprint",
            sa.String(length=64),
            nullable=True,
            comment="sha256 of a hashed bin's target list",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_tuf_metadata_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tuf_metadata")),
        sa.UniqueConstraint("role", "version", name="uq_tuf_metadata_role_version"),
    )
    op.create_table(
        "tuf_pending_namespaces",
        sa.Column("namespace", sa.String(length=128), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False, comment="bumped by every change"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("namespace", name=op.f("pk_tuf_pending_namespaces")),
    )
    op.create_table(
        "tuf_publisher_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tuf_publisher_lock")),
    )


def downgrade() -> None:
    op.drop_table("tuf_publisher_lock")
    op.drop_table("tuf_pending_namespaces")
    op.drop_table("tuf_metadata")
