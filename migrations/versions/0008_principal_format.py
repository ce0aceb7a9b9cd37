"""signature verifications: record the spelling of principals; re-verify every stored verdict

A key's id became the OMS key hint (SHA-256 of the public key PEM text) instead
of the SHA-256 of its DER form. Verdicts stored before carry ``key:<DER id>``
principals; one key signing again would be stored as ``key:<hint>`` and the two
rows would count as two signers. Every existing row gets ``principal_format``
0 (unknown), which never equals the current format, so each verdict is
re-verified (and re-spelt) before anything counts it again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signature_verifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "principal_format",
                sa.Integer(),
                server_default="0",
                nullable=False,
                comment="spelling of principals; 0: unknown, re-verify",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("signature_verifications", schema=None) as batch_op:
        batch_op.drop_column("principal_format")
