"""signature verifications: the registry's verdict per (version, signature) (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signature_verifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("repository_id", _ID, nullable=False),
        sa.Column("subject_manifest_id", _ID, nullable=False),
        sa.Column("referrer_manifest_id", _ID, nullable=False),
        sa.Column("bundle_digest", sa.String(length=71), nullable=False, comment="the bundle blob"),
        sa.Column("outcome", sa.String(length=16), nullable=False, comment="verified or failed"),
        sa.Column("signer", sa.String(length=512), nullable=True),
        sa.Column("trusted_as", sa.String(length=255), nullable=True),
        sa.Column("principals", sa.JSON(), nullable=False, comment="what makes two signers one"),
        sa.Column("failed_check", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "policy_digest", sa.String(length=71), nullable=False, comment="trust policy content"
        ),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('verified', 'failed')", name=op.f("ck_signature_verifications_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["referrer_manifest_id"],
            ["manifests.id"],
            name=op.f("fk_signature_verifications_referrer_manifest_id_manifests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_signature_verifications_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_manifest_id"],
            ["manifests.id"],
            name=op.f("fk_signature_verifications_subject_manifest_id_manifests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_verifications")),
        sa.UniqueConstraint(
            "subject_manifest_id",
            "referrer_manifest_id",
            name=op.f("uq_signature_verifications_subject_manifest_id"),
        ),
    )
    with op.batch_alter_table("signature_verifications", schema=None) as batch_op:
        for column in ("referrer_manifest_id", "repository_id", "subject_manifest_id"):
            batch_op.create_index(
                batch_op.f(f"ix_signature_verifications_{column}"), [column], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("signature_verifications", schema=None) as batch_op:
        for column in ("subject_manifest_id", "repository_id", "referrer_manifest_id"):
            batch_op.drop_index(batch_op.f(f"ix_signature_verifications_{column}"))
    op.drop_table("signature_verifications")
