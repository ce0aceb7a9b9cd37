"""sboms and their searchable facts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 23:56:10.073988
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "sboms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "repository_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "subject_manifest_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "referrer_manifest_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "blob_digest", sa.String(length=71), nullable=False, comment="the exact uploaded bytes"
        ),
        sa.Column("spec_version", sa.String(length=8), nullable=False),
        sa.Column("serial_number", sa.String(length=255), nullable=True),
        sa.Column(
            "binding",
            sa.String(length=16),
            nullable=False,
            comment="files, root-digest or files+root",
        ),
        sa.Column("summary", sa.JSON(), nullable=False, comment="index read from the JSON"),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referrer_manifest_id"],
            ["manifests.id"],
            name=op.f("fk_sboms_referrer_manifest_id_manifests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_sboms_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_manifest_id"],
            ["manifests.id"],
            name=op.f("fk_sboms_subject_manifest_id_manifests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sboms")),
        sa.UniqueConstraint("referrer_manifest_id", name=op.f("uq_sboms_referrer_manifest_id")),
    )
    with op.batch_alter_table("sboms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sboms_repository_id"), ["repository_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_sboms_subject_manifest_id"), ["subject_manifest_id"], unique=False
        )

    op.create_table(
        "sbom_facts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sbom_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True, comment="opset version"),
        sa.ForeignKeyConstraint(
            ["sbom_id"], ["sboms.id"], name=op.f("fk_sbom_facts_sbom_id_sboms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sbom_facts")),
    )
    with op.batch_alter_table("sbom_facts", schema=None) as batch_op:
        batch_op.create_index("ix_sbom_facts_kind_value", ["kind", "value"], unique=False)
        batch_op.create_index(batch_op.f("ix_sbom_facts_sbom_id"), ["sbom_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("sbom_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sbom_facts_sbom_id"))
        batch_op.drop_index("ix_sbom_facts_kind_value")

    op.drop_table("sbom_facts")
    with op.batch_alter_table("sboms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sboms_subject_manifest_id"))
        batch_op.drop_index(batch_op.f("ix_sboms_repository_id"))

    op.drop_table("sboms")
