"""namespace usage counter: ``namespaces.usage_bytes``

What a namespace stores (its distinct linked blobs plus its distinct manifests) is kept
in a counter changed with every link, unlink, manifest and collection
(``registry.oci.usage``) instead of being recomputed on every quota check. The
upgrade fills it with the computed figure.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same figure as registry.oci.usage.computed, in SQL both engines run.
_FILL = """
UPDATE namespaces SET usage_bytes = (
    SELECT coalesce(sum(b.size), 0) FROM blobs b WHERE b.digest IN (
        SELECT rb.blob_digest FROM repository_blobs rb
        JOIN repositories r ON r.id = rb.repository_id
        WHERE r.namespace_id = namespaces.id
    )
) + (
    SELECT coalesce(sum(m.size), 0) FROM (
        SELECT DISTINCT m.digest, m.size FROM manifests m
        JOIN repositories r ON r.id = m.repository_id
        WHERE r.namespace_id = namespaces.id
    ) m
)
"""


def upgrade() -> None:
    with op.batch_alter_table("namespaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "usage_bytes",
                sa.BigInteger(),
                nullable=False,
                server_default="0",
                comment=(
                    "bytes stored (distinct blobs linked + distinct manifests), "
                    "kept by every change"
                ),
            )
        )
    op.execute(_FILL)


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), as 0009 does: a batch would
    # recreate ``namespaces``, which repositories reference.
    op.drop_column("namespaces", "usage_bytes")
