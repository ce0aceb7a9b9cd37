"""Read models of the lifecycle API, built from the same rows the OCI API writes."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.auth import Principal, Scope
from registry.auth.principal import ALL_NAMESPACES
from registry.db.models import (
    Manifest,
    ManifestReference,
    Namespace,
    Repository,
    Sbom,
    SignatureVerification,
    Tag,
)
from registry.digests import Digest
from registry.lifecycle import schemas
from registry.oci import mediatypes as mt
from registry.storage import BlobStore
from registry.verification.service import is_current

_CONFIG_LIMIT = 1024 * 1024


def visible_namespaces(principal: Principal) -> Select[Any] | None:
    """Namespaces whose models the caller may list; ``None`` means every namespace."""
    if principal.namespace == ALL_NAMESPACES and principal.allows("*", Scope.PULL):
        return None
    names = select(Namespace.name).where(Namespace.anonymous_pull.is_(True))
    if principal.namespace and principal.allows(principal.namespace, Scope.PULL):
        names = select(Namespace.name).where(
            or_(Namespace.anonymous_pull.is_(True), Namespace.name == principal.namespace)
        )
    return names


async def list_models(
    session: AsyncSession,
    principal: Principal,
    *,
    namespace: str | None,
    query: str | None,
    media_type: str | None,
    limit: int,
    offset: int,
) -> schemas.ModelList:
    statement = select(Repository).join(Namespace, Namespace.id == Repository.namespace_id)
    visible = visible_namespaces(principal)
    if visible is not None:
        statement = statement.where(Namespace.name.in_(visible))
    if namespace is not None:
        statement = statement.where(Namespace.name == namespace)
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Repository.name.like(f"%{escaped}%", escape="\\"))
    if media_type:
        statement = statement.where(
            Repository.id.in_(
                select(Manifest.repository_id)
                .join(ManifestReference, ManifestReference.manifest_id == Manifest.id)
                .where(ManifestReference.media_type == media_type)
            )
        )
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await session.scalars(statement.order_by(Repository.name).limit(limit).offset(offset))
    ).all()
    models = [await _summary(session, repository) for repository in rows]
    return schemas.ModelList(
        models=models, page=schemas.Page(total=int(total or 0), limit=limit, offset=offset)
    )


async def _summary(session: AsyncSession, repository: Repository) -> schemas.ModelSummary:
    tags = (
        await session.scalars(
            select(Tag)
            .options(selectinload(Tag.manifest))
            .where(Tag.repository_id == repository.id)
            .order_by(Tag.created_at, Tag.name)
        )
    ).all()
    versions = [t for t in tags if t.is_version]
    return schemas.ModelSummary(
        name=repository.name,
        namespace=repository.name.split("/", 1)[0],
        created_at=repository.created_at,
        versions=len(versions),
        aliases={t.name: t.manifest.digest for t in tags if not t.is_version},
        latest_version=versions[-1].name if versions else None,
    )


async def version_summaries(
    session: AsyncSession, repository: Repository, *, limit: int, offset: int
) -> tuple[list[schemas.VersionSummary], int]:
    """A page of the model's versions, oldest first, and how many there are (three queries
    whatever the page size: the count, the page, the pages' sizes summed in SQL)."""
    versions = (Tag.repository_id == repository.id, Tag.is_version.is_(True))
    total = await session.scalar(select(func.count()).select_from(Tag).where(*versions))
    rows = (
        await session.execute(
            select(Tag.name, Tag.created_at, Tag.manifest_id, Manifest.digest)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(*versions)
            .order_by(Tag.created_at, Tag.name)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    sizes: dict[int, int] = {}
    if rows:
        summed = await session.execute(
            select(ManifestReference.manifest_id, func.sum(ManifestReference.size))
            .where(ManifestReference.manifest_id.in_(sorted({r.manifest_id for r in rows})))
            .group_by(ManifestReference.manifest_id)
        )
        sizes = {manifest_id: int(size or 0) for manifest_id, size in summed}
    signatures = await _signature_counts(session, {r.manifest_id for r in rows})
    return [
        schemas.VersionSummary(
            version=name,
            digest=digest,
            created_at=created_at,
            size=sizes.get(manifest_id, 0),
            signatures=signatures.get(manifest_id, schemas.SignatureCounts()),
        )
        for name, created_at, manifest_id, digest in rows
    ], int(total or 0)


async def _signature_counts(
    session: AsyncSession, manifest_ids: set[int]
) -> dict[int, schemas.SignatureCounts]:
    """The stored verdicts on each manifest, counted (one query for a page of versions)."""
    if not manifest_ids:
        return {}
    rows = await session.execute(
        select(
            SignatureVerification.subject_manifest_id,
            SignatureVerification.outcome,
            SignatureVerification.trusted_as,
            SignatureVerification.signer,
        ).where(SignatureVerification.subject_manifest_id.in_(sorted(manifest_ids)))
    )
    counts: dict[int, schemas.SignatureCounts] = {}
    for manifest_id, outcome, trusted_as, signer in rows:
        found = counts.setdefault(manifest_id, schemas.SignatureCounts())
        if outcome == "verified":
            found.verified += 1
            name = trusted_as or signer
            if name and name not in found.signers:
                found.signers.append(name)
        else:
            found.failed += 1
    for found in counts.values():
        found.signers.sort()
    return counts


async def first_version_of(session: AsyncSession, manifest_id: int) -> Tag | None:
    """The oldest version tag on a manifest (what an alias pointing at it resolves to)."""
    found: Tag | None = await session.scalar(
        select(Tag)
        .where(Tag.manifest_id == manifest_id, Tag.is_version.is_(True))
        .order_by(Tag.id)
        .limit(1)
    )
    return found


async def alias_views(session: AsyncSession, repository: Repository) -> list[schemas.AliasView]:
    """The model's aliases by name, each with the versions on its manifest (two narrow
    queries: the version tags read are only those on an aliased manifest)."""
    aliases = (
        await session.execute(
            select(Tag.name, Tag.manifest_id, Tag.updated_at, Tag.updated_by, Manifest.digest)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(Tag.repository_id == repository.id, Tag.is_version.is_(False))
            .order_by(Tag.name)
        )
    ).all()
    if not aliases:
        return []
    versions_of: dict[int, list[str]] = {}
    rows = await session.execute(
        select(Tag.manifest_id, Tag.name)
        .where(
            Tag.repository_id == repository.id,
            Tag.is_version.is_(True),
            Tag.manifest_id.in_(sorted({a.manifest_id for a in aliases})),
        )
        .order_by(Tag.name)
    )
    for manifest_id, name in rows:
        versions_of.setdefault(manifest_id, []).append(name)
    return [
        schemas.AliasView(
            alias=name,
            digest=digest,
            versions=versions_of.get(manifest_id, []),
            updated_at=updated_at,
            updated_by=updated_by,
        )
        for name, manifest_id, updated_at, updated_by, digest in aliases
    ]


async def _references(session: AsyncSession, manifest: Manifest) -> list[ManifestReference]:
    return list(
        (
            await session.scalars(
                select(ManifestReference)
                .where(ManifestReference.manifest_id == manifest.id)
                .order_by(ManifestReference.position)
            )
        ).all()
    )


def _referrer_kind(artifact_type: str | None) -> str:
    if artifact_type is None:
        return "other"
    if "sigstore.bundle" in artifact_type or "signature" in artifact_type:
        return "signature"
    if "cyclonedx" in artifact_type or "spdx" in artifact_type:
        return "sbom"
    return "other"


async def signature_views(
    session: AsyncSession, manifest: Manifest, trust_digest: str
) -> list[schemas.SignatureView]:
    rows = (
        await session.execute(
            select(SignatureVerification, Manifest.digest)
            .join(Manifest, Manifest.id == SignatureVerification.referrer_manifest_id)
            .where(SignatureVerification.subject_manifest_id == manifest.id)
            .order_by(SignatureVerification.referrer_manifest_id)
        )
    ).all()
    return [
        schemas.SignatureView(
            signature=digest,
            bundle_digest=row.bundle_digest,
            outcome=row.outcome,
            signer=row.signer,
            trusted_as=row.trusted_as,
            failed_check=row.failed_check,
            reason=row.reason,
            policy_digest=row.policy_digest,
            verified_at=row.verified_at,
            current=is_current(row, trust_digest),
        )
        for row, digest in rows
    ]


async def version_view(
    session: AsyncSession,
    blobs: BlobStore,
    repository: Repository,
    tag: Tag,
    *,
    trust_digest: str = "",
) -> schemas.VersionView:
    manifest = tag.manifest
    references = await _references(session, manifest)
    files = [
        schemas.FileView(
            name=r.title,
            digest=r.digest,
            size=r.size,
            media_type=r.media_type,
            kind=mt.layer_kind(r.media_type),
            format=mt.file_format(r.title),
        )
        for r in references
        if r.role == "layer"
    ]
    referrers = (
        await session.scalars(
            select(Manifest)
            .where(
                Manifest.repository_id == repository.id,
                Manifest.subject_digest == manifest.digest,
            )
            .order_by(Manifest.id)
        )
    ).all()
    aliases = (
        await session.scalars(
            select(Tag.name)
            .where(Tag.manifest_id == manifest.id, Tag.is_version.is_(False))
            .order_by(Tag.name)
        )
    ).all()
    sbom = await session.scalar(
        select(Sbom)
        .where(Sbom.subject_manifest_id == manifest.id)
        .order_by(Sbom.id.desc())
        .limit(1)
    )
    config = None
    config_ref = next((r for r in references if r.role == "config"), None)
    if config_ref is not None and config_ref.media_type == mt.MODEL_CONFIG:
        config = await _read_json_blob(blobs, config_ref.digest, config_ref.size)
    return schemas.VersionView(
        model=repository.name,
        version=tag.name,
        digest=manifest.digest,
        media_type=manifest.media_type,
        artifact_type=manifest.artifact_type,
        created_at=manifest.created_at,
        pushed_by=manifest.pushed_by,
        files=files,
        referrers=[
            schemas.ReferrerView(
                digest=m.digest,
                artifact_type=m.artifact_type,
                kind=_referrer_kind(m.artifact_type),
                created_at=m.created_at,
            )
            for m in referrers
        ],
        aliases=list(aliases),
        config=config,
        sbom=None
        if sbom is None
        else {
            "digest": sbom.blob_digest,
            "spec_version": sbom.spec_version,
            "binding": sbom.binding,
            **sbom.summary,
        },
        signatures=await signature_views(session, manifest, trust_digest),
    )


async def _read_json_blob(blobs: BlobStore, digest: str, size: int) -> dict[str, Any] | None:
    if size > _CONFIG_LIMIT:
        return None
    data = b"".join([chunk async for chunk in blobs.open(Digest.parse(digest))])
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return document if isinstance(document, dict) else None
