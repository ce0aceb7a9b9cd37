"""storage hygiene: the garbage-collection review queue, lost blobs, namespace quotas

``gc_reviews`` holds what manifest, tag and blob changes may have left
unreferenced; the collector re-checks each entry once its delay has passed.
``blobs.missing_since`` marks a blob whose bytes the store lost (``fsck --repair``).
``namespaces.quota_bytes`` caps what a namespace stores (NULL: no quota).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gc_reviews",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, comment="blob or manifest"),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column(
            "repository_id",
            sa.BigInteger(),
            nullable=True,
            comment="for manifests: the repository holding it",
        ),
        sa.Column("reason", sa.String(64), nullable=False, comment="what queued it"),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_after", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('blob', 'manifest')", name="ck_gc_reviews_kind_known"),
        sa.CheckConstraint(
            "digest LIKE 'sha256:%' AND length(digest) = 71", name="ck_gc_reviews_digest_format"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_gc_reviews"),
    )
    op.create_index("ix_gc_reviews_kind_digest", "gc_reviews", ["kind", "digest"])
    op.create_index("ix_gc_reviews_review_after", "gc_reviews", ["review_after"])
    with op.batch_alter_table("blobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "missing_since",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="set by fsck --repair: the store lost the bytes",
            )
        )
    with op.batch_alter_table("namespaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "quota_bytes",
                sa.BigInteger(),
                nullable=True,
                comment="storage quota; NULL = unlimited",
            )
        )


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch would recreate the tables,
    # and SQLite refuses to drop ``namespaces`` while repositories reference it.
    op.drop_column("namespaces", "quota_bytes")
    op.drop_column("blobs", "missing_since")
    op.drop_index("ix_gc_reviews_review_after", table_name="gc_reviews")
    op.drop_index("ix_gc_reviews_kind_digest", table_name="gc_reviews")
    op.drop_table("gc_reviews")
