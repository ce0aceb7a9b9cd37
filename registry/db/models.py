"""SQLAlchemy models. The schema is created only by the Alembic migrations.

Digest columns carry check constraints on their format so that a bug upstream
cannot store a digest the rest of the system would refuse to parse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from registry.db.types import UTCDateTime, utcnow

# Stable constraint names, so migrations can refer to them on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Autoincrementing 64-bit keys; SQLite only autoincrements "INTEGER PRIMARY KEY".
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

SHA256_DIGEST_CHECK = "{col} LIKE 'sha256:%' AND length({col}) = 71"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Namespace(Base):
    """A namespace (``acme``): the unit of ownership, tokens and policy."""

    __tablename__ = "namespaces"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True, comment="first path component")
    anonymous_pull: Mapped[bool] = mapped_column(Boolean, default=False)
    quota_bytes: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, comment="storage quota; NULL = unlimited"
    )
    usage_bytes: Mapped[int] = mapped_column(
        BigInteger,
        default=0,
        server_default="0",
        comment="bytes stored (distinct blobs linked + distinct manifests), kept by every change",
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    repositories: Mapped[list[Repository]] = relationship(back_populates="namespace")


class Repository(Base):
    """An OCI repository, ``<namespace>/<model>``."""

    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("namespaces.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), unique=True, comment="full repository name")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    namespace: Mapped[Namespace] = relationship(back_populates="repositories")


class Blob(Base):
    """A content-addressed blob known to the store (bytes live in the blob store)."""

    __tablename__ = "blobs"
    __table_args__ = (
        CheckConstraint(SHA256_DIGEST_CHECK.format(col="digest"), name="digest_format"),
        CheckConstraint("size >= 0", name="size_nonnegative"),
    )

    digest: Mapped[str] = mapped_column(String(71), primary_key=True, comment="sha256:<hex>")
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    missing_since: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, comment="set by fsck --repair: the store lost the bytes"
    )


class GcReview(Base):
    """Something that may have become unreferenced, to re-check after ``review_after``.

    Fed by manifest, tag and blob changes, abandoned uploads and ``fsck --repair``;
    the collector deletes only what a re-check inside its transaction finds unreferenced.
    """

    __tablename__ = "gc_reviews"
    __table_args__ = (
        CheckConstraint("kind IN ('blob', 'manifest')", name="kind_known"),
        CheckConstraint(SHA256_DIGEST_CHECK.format(col="digest"), name="digest_format"),
        Index("ix_gc_reviews_kind_digest", "kind", "digest"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), comment="blob or manifest")
    digest: Mapped[str] = mapped_column(String(71))
    repository_id: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, comment="for manifests: the repository holding it"
    )
    reason: Mapped[str] = mapped_column(String(64), comment="what queued it")
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    review_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RepositoryBlob(Base):
    """A blob is visible in a repository only once pushed or mounted there."""

    __tablename__ = "repository_blobs"

    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    blob_digest: Mapped[str] = mapped_column(
        ForeignKey("blobs.digest", ondelete="RESTRICT"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """An API token. Only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("length(token_hash) = 64", name="token_hash_format"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="public token id")
    token_hash: Mapped[str] = mapped_column(
        String(64), unique=True, comment="sha256 hex of the whole secret token"
    )
    namespace: Mapped[str] = mapped_column(String(128), index=True, comment="'*' = every namespace")
    scopes: Mapped[str] = mapped_column(String(64), comment="comma-separated: pull,push,admin")
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    """An append-only record of every write: who did what to what, and when."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_namespace_id", "namespace", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64), index=True)
    namespace: Mapped[str | None] = mapped_column(String(128), nullable=True)
    subject: Mapped[str] = mapped_column(String(512))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Manifest(Base):
    """A manifest, stored as the exact bytes received; its digest is over those bytes."""

    __tablename__ = "manifests"
    __table_args__ = (
        UniqueConstraint("repository_id", "digest", name="uq_manifests_repository_digest"),
        Index("ix_manifests_repository_subject", "repository_id", "subject_digest"),
        CheckConstraint(SHA256_DIGEST_CHECK.format(col="digest"), name="digest_format"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(71), comment="sha256 of content")
    media_type: Mapped[str] = mapped_column(String(255))
    artifact_type: Mapped[str | None] = mapped_column(
        String(255), nullable=True, comment="artifactType, else the config media type"
    )
    subject_digest: Mapped[str | None] = mapped_column(String(71), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary, comment="the exact bytes received")
    annotations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pushed_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    references: Mapped[list[ManifestReference]] = relationship(
        back_populates="manifest",
        order_by="ManifestReference.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ManifestReference(Base):
    """A descriptor inside a manifest: its config, a layer (a file), or a child manifest."""

    __tablename__ = "manifest_references"

    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifests.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16), comment="config, layer or manifest")
    digest: Mapped[str] = mapped_column(String(71), index=True)
    media_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(
        String(1024), nullable=True, comment="file path from the title/filepath annotation"
    )

    manifest: Mapped[Manifest] = relationship(back_populates="references")


class Tag(Base):
    """A tag: a version (immutable once pushed) or an alias (moved through the API)."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("repository_id", "name", name="uq_tags_repository_name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifests.id", ondelete="RESTRICT"), index=True
    )
    is_version: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(255))

    manifest: Mapped[Manifest] = relationship()


class UploadSession(Base):
    """A resumable blob upload in progress (the bytes live in the blob store)."""

    __tablename__ = "upload_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessToken(Base):
    """A short-lived bearer token from the Docker-style token endpoint (hash only)."""

    __tablename__ = "access_tokens"
    __table_args__ = (CheckConstraint("length(token_hash) = 64", name="token_hash_format"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_token_id: Mapped[str | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), nullable=True, index=True
    )
    actor: Mapped[str] = mapped_column(String(255))
    grants: Mapped[dict[str, Any]] = mapped_column(JSON, comment="repository -> granted actions")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Sbom(Base):
    """A CycloneDX ML-BOM bound to a version's manifest (bytes live in the blob store)."""

    __tablename__ = "sboms"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    subject_manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifests.id", ondelete="CASCADE"), index=True
    )
    referrer_manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifests.id", ondelete="CASCADE"), unique=True
    )
    blob_digest: Mapped[str] = mapped_column(String(71), comment="the exact uploaded bytes")
    spec_version: Mapped[str] = mapped_column(String(8))
    serial_number: Mapped[str | None] = mapped_column(String(255), nullable=True)
    binding: Mapped[str] = mapped_column(String(16), comment="files, root-digest or files+root")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, comment="index read from the JSON")
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SbomFact(Base):
    """One searchable fact of an SBOM: a licence, dataset, supplier, opset, dtype or digest."""

    __tablename__ = "sbom_facts"
    __table_args__ = (Index("ix_sbom_facts_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    sbom_id: Mapped[int] = mapped_column(ForeignKey("sboms.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(512))
    number: Mapped[int | None] = mapped_column(Integer, nullable=True, comment="opset version")


class SignatureVerification(Base):
    """The registry's verdict on one signature (an OMS bundle referrer) of one version.

    One row per (version, signature). ``policy_digest`` names the trust policy
    content the verdict was reached under and ``principal_format`` the spelling of
    its ``principals`` (:data:`verifier.trust.PRINCIPAL_FORMAT`): when either
    changes, the row is stale and is re-evaluated (and updated) before it counts again.
    """

    __tablename__ = "signature_verifications"
    __table_args__ = (
        UniqueConstraint("subject_manifest_id", "referrer_manifest_id"),
        CheckConstraint("outcome IN ('verified', 'failed')", name="outcome"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    subject_manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifests.id", ondelete="CASCADE"), index=True
    )
    referrer_manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifests.id", ondelete="CASCADE"), index=True
    )
    bundle_digest: Mapped[str] = mapped_column(String(71), comment="the bundle blob")
    outcome: Mapped[str] = mapped_column(String(16), comment="verified or failed")
    signer: Mapped[str | None] = mapped_column(String(512), nullable=True)
    trusted_as: Mapped[str | None] = mapped_column(String(255), nullable=True)
    principals: Mapped[list[str]] = mapped_column(JSON, comment="what makes two signers one")
    failed_check: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    policy_digest: Mapped[str] = mapped_column(String(71), comment="trust policy content")
    principal_format: Mapped[int] = mapped_column(
        Integer, server_default="0", comment="spelling of principals; 0: unknown, re-verify"
    )
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TufMetadata(Base):
    """One signed version of one TUF role, stored as the exact bytes served (registry.tuf).

    ``(role, version)`` is unique: two replicas publishing at once cannot both
    allocate the same version; the loser's transaction fails and nothing of it is kept.
    """

    __tablename__ = "tuf_metadata"
    __table_args__ = (
        UniqueConstraint("role", "version", name="uq_tuf_metadata_role_version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    role: Mapped[str] = mapped_column(String(128), comment="root, targets, ... or a namespace")
    version: Mapped[int] = mapped_column(Integer)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[bytes] = mapped_column(LargeBinary, comment="the signed JSON, as served")
    fingerprint: Mapped[str | None] = mapped_column(
        String(64), nullable=True, comment="sha256 of a hashed bin's target list"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TufPendingNamespace(Base):
    """A namespace whose versions or aliases changed since its TUF role was last published.

    Written in the same transaction as the tag change; the publisher deletes a row
    only if its ``generation`` is still the one it read, so no change is ever lost.
    """

    __tablename__ = "tuf_pending_namespaces"

    namespace: Mapped[str] = mapped_column(String(128), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, comment="bumped by every change")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TufPublisherLock(Base):
    """One row that every TUF publisher locks first: publications never interleave."""

    __tablename__ = "tuf_publisher_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HubOutput(Base):
    """An image registered with the reprint hub: digests and attribution, no pixels, no prompts."""

    __tablename__ = "hub_outputs"
    __table_args__ = (
        CheckConstraint(SHA256_DIGEST_CHECK.format(col="image_digest"), name="image_digest_format"),
        CheckConstraint(SHA256_DIGEST_CHECK.format(col="model_digest"), name="model_digest_format"),
        CheckConstraint(SHA256_DIGEST_CHECK.format(col="claim_digest"), name="claim_digest_format"),
        CheckConstraint("kind IN ('manifest', 'c2pa')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    image_digest: Mapped[str] = mapped_column(
        String(71), unique=True, comment="sha256 of the exact image bytes"
    )
    kind: Mapped[str] = mapped_column(String(16), comment="manifest (DSSE) or c2pa")
    claim_digest: Mapped[str] = mapped_column(
        String(71), comment="sha256 of the signed claim: DSSE payload or C2PA manifest store"
    )
    namespace: Mapped[str] = mapped_column(String(128), index=True)
    model: Mapped[str] = mapped_column(String(255), comment="repository of the model version")
    model_digest: Mapped[str] = mapped_column(String(71), comment="version manifest digest")
    creator: Mapped[str] = mapped_column(String(512), comment="identity that signed the claim")
    license: Mapped[str] = mapped_column(String(255))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, comment="reprint terms as signed")
    chain: Mapped[dict[str, Any]] = mapped_column(JSON, comment="latent chain summary")
    c2pa_label: Mapped[str | None] = mapped_column(
        String(255), nullable=True, index=True, comment="active C2PA manifest label"
    )
    image_checked: Mapped[bool] = mapped_column(
        Boolean, comment="the image bytes were hashed here, not only their digest claimed"
    )
    registered_by: Mapped[str] = mapped_column(String(255), comment="token actor")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(64), comment="RFC 9162 leaf hash, hex")

    reprints: Mapped[list[HubReprint]] = relationship(
        back_populates="output", order_by="HubReprint.id", passive_deletes=True
    )


class HubReprint(Base):
    """An accepted reprint of a registered output, with its log entry."""

    __tablename__ = "hub_reprints"
    __table_args__ = (
        CheckConstraint(SHA256_DIGEST_CHECK.format(col="image_digest"), name="image_digest_format"),
        CheckConstraint("via IN ('exact', 'c2pa')", name="via_known"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    output_id: Mapped[int] = mapped_column(
        ForeignKey("hub_outputs.id", ondelete="RESTRICT"), index=True
    )
    image_digest: Mapped[str] = mapped_column(String(71), comment="the image submitted")
    via: Mapped[str] = mapped_column(String(16), comment="exact bytes or a C2PA ingredient chain")
    reprinter: Mapped[str] = mapped_column(String(512))
    use: Mapped[dict[str, Any]] = mapped_column(JSON, comment="the intended use, as requested")
    requested_by: Mapped[str] = mapped_column(String(255), comment="token actor")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    log_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    leaf_hash: Mapped[str] = mapped_column(String(64), comment="RFC 9162 leaf hash, hex")

    output: Mapped[HubOutput] = relationship(back_populates="reprints")


class TlogEntry(Base):
    """One transparency-log entry. Append-only: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "tlog_entries"
    __table_args__ = (
        CheckConstraint("idx >= 0", name="idx_nonnegative"),
        CheckConstraint("length(leaf_hash) = 32", name="leaf_hash_length"),
    )

    idx: Mapped[int] = mapped_column(
        BigIntPK, primary_key=True, autoincrement=False, comment="position in the log, from 0"
    )
    leaf_hash: Mapped[bytes] = mapped_column(
        LargeBinary(32), index=True, comment="SHA-256(0x00 || body)"
    )
    body: Mapped[bytes] = mapped_column(LargeBinary, comment="the exact bytes logged")
    integrated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TlogNode(Base):
    """A complete, aligned subtree of the log's Merkle tree: written once, never changed.

    Keyed by one integer, ``level * 2**56 + index`` (see ``registry.tlog.queries``), so
    a proof is one ``IN`` over the primary key (SQLite's rowid) on both engines.
    """

    __tablename__ = "tlog_nodes"
    __table_args__ = (
        CheckConstraint("node_id >= 0", name="node_id_nonnegative"),
        CheckConstraint("length(hash) = 32", name="hash_length"),
    )

    node_id: Mapped[int] = mapped_column(
        BigIntPK, primary_key=True, autoincrement=False, comment="level * 2^56 + index"
    )
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class TlogCheckpoint(Base):
    """A checkpoint signed with the log key when a batch committed (C2SP signed note)."""

    __tablename__ = "tlog_checkpoints"
    __table_args__ = (CheckConstraint("length(root_hash) = 32", name="root_hash_length"),)

    tree_size: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text, comment="the signed checkpoint, exactly as served")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
