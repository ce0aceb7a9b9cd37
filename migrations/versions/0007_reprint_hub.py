"""reprint hub outputs and reprints (issue 8)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _digest_check(column: str) -> str:
    return f"{column} LIKE 'sha256:%' AND length({column}) = 71"


def upgrade() -> None:
    op.create_table(
        "hub_outputs",
        sa.Column("id", _ID, nullable=False),
        sa.Column(
            "image_digest",
            sa.String(length=71),
            nullable=False,
            comment="sha256 of the exact image bytes",
        ),
        sa.Column("kind", sa.String(length=16), nullable=False, comment="manifest (DSSE) or c2pa"),
        sa.Column(
            "claim_digest",
            sa.String(length=71),
            nullable=False,
            comment="sha256 of the signed claim: DSSE payload or C2PA manifest store",
        ),
        sa.Column("namespace", sa.String(length=128), nullable=False),
        sa.Column(
            "model",
            sa.String(length=255),
            nullable=False,
            comment="repository of the model version",
        ),
        sa.Column(
            "model_digest", sa.String(length=71), nullable=False, comment="version manifest digest"
        ),
        sa.Column(
            "creator",
            sa.String(length=512),
            nullable=False,
            comment="identity that signed the claim",
        ),
        sa.Column("license", sa.String(length=255), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False, comment="reprint terms as signed"),
        sa.Column("chain", sa.JSON(), nullable=False, comment="latent chain summary"),
        sa.Column(
            "c2pa_label",
            sa.String(length=255),
            nullable=True,
            comment="active C2PA manifest label",
        ),
        sa.Column(
            "image_checked",
            sa.Boolean(),
            nullable=False,
            comment="the image bytes were hashed here, not only their digest claimed",
        ),
        sa.Column("registered_by", sa.String(length=255), nullable=False, comment="token actor"),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column(
            "leaf_hash", sa.String(length=64), nullable=False, comment="RFC 9162 leaf hash, hex"
        ),
        sa.CheckConstraint(
            _digest_check("claim_digest"), name=op.f("ck_hub_outputs_claim_digest_format")
        ),
        sa.CheckConstraint(
            _digest_check("image_digest"), name=op.f("ck_hub_outputs_image_digest_format")
        ),
        sa.CheckConstraint(
            _digest_check("model_digest"), name=op.f("ck_hub_outputs_model_digest_format")
        ),
        sa.CheckConstraint("kind IN ('manifest', 'c2pa')", name=op.f("ck_hub_outputs_kind_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_outputs")),
        sa.UniqueConstraint("image_digest", name=op.f("uq_hub_outputs_image_digest")),
        sa.UniqueConstraint("log_index", name=op.f("uq_hub_outputs_log_index")),
    )
    with op.batch_alter_table("hub_outputs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_outputs_namespace"), ["namespace"], unique=False)
        batch_op.create_index(batch_op.f("ix_hub_outputs_c2pa_label"), ["c2pa_label"], unique=False)

    op.create_table(
        "hub_reprints",
        sa.Column("id", _ID, nullable=False),
        sa.Column("output_id", _ID, nullable=False),
        sa.Column(
            "image_digest", sa.String(length=71), nullable=False, comment="the image submitted"
        ),
        sa.Column(
            "via",
            sa.String(length=16),
            nullable=False,
            comment="exact bytes or a C2PA ingredient chain",
        ),
        sa.Column("reprinter", sa.String(length=512), nullable=False),
        sa.Column("use", sa.JSON(), nullable=False, comment="the intended use, as requested"),
        sa.Column("requested_by", sa.String(length=255), nullable=False, comment="token actor"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column(
            "leaf_hash", sa.String(length=64), nullable=False, comment="RFC 9162 leaf hash, hex"
        ),
        sa.CheckConstraint(
            _digest_check("image_digest"), name=op.f("ck_hub_reprints_image_digest_format")
        ),
        sa.CheckConstraint("via IN ('exact', 'c2pa')", name=op.f("ck_hub_reprints_via_known")),
        sa.ForeignKeyConstraint(
            ["output_id"],
            ["hub_outputs.id"],
            name=op.f("fk_hub_reprints_output_id_hub_outputs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_reprints")),
        sa.UniqueConstraint("log_index", name=op.f("uq_hub_reprints_log_index")),
    )
    with op.batch_alter_table("hub_reprints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hub_reprints_output_id"), ["output_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_reprints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_reprints_output_id"))
    op.drop_table("hub_reprints")
    with op.batch_alter_table("hub_outputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hub_outputs_c2pa_label"))
        batch_op.drop_index(batch_op.f("ix_hub_outputs_namespace"))
    op.drop_table("hub_outputs")
