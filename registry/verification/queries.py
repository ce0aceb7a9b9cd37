"""The verification slice's SQL: signature referrers and their bundle layers, stored
verdicts, a version's files and SBOM licences, and a version found by its digest."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import (
    Manifest,
    ManifestReference,
    Repository,
    Sbom,
    SbomFact,
    SignatureVerification,
    Tag,
)
from registry.oci.mediatypes import SIGNATURE_ARTIFACT_TYPES


async def signature_referrers(session: AsyncSession, subject: Manifest) -> list[Manifest]:
    return list(
        (
            await session.scalars(
                select(Manifest)
                .where(
                    Manifest.repository_id == subject.repository_id,
                    Manifest.subject_digest == subject.digest,
                    Manifest.artifact_type.in_(SIGNATURE_ARTIFACT_TYPES),
                )
                .order_by(Manifest.id)
            )
        ).all()
    )


async def layers_of(session: AsyncSession, manifest: Manifest) -> list[ManifestReference]:
    """``manifest``'s layer references, in manifest order."""
    return list(
        (
            await session.scalars(
                select(ManifestReference)
                .where(
                    ManifestReference.manifest_id == manifest.id,
                    ManifestReference.role == "layer",
                )
                .order_by(ManifestReference.position)
            )
        ).all()
    )


async def verdict_of(
    session: AsyncSession, subject: Manifest, referrer: Manifest
) -> SignatureVerification | None:
    found: SignatureVerification | None = await session.scalar(
        select(SignatureVerification).where(
            SignatureVerification.subject_manifest_id == subject.id,
            SignatureVerification.referrer_manifest_id == referrer.id,
        )
    )
    return found


async def verdicts_of(session: AsyncSession, subject: Manifest) -> list[SignatureVerification]:
    return list(
        (
            await session.scalars(
                select(SignatureVerification).where(
                    SignatureVerification.subject_manifest_id == subject.id
                )
            )
        ).all()
    )


async def sbom_licenses(session: AsyncSession, manifest: Manifest) -> list[str] | None:
    """The licences the SBOMs of ``manifest`` name (``None`` if it has no SBOM)."""
    sboms = (
        await session.scalars(select(Sbom.id).where(Sbom.subject_manifest_id == manifest.id))
    ).all()
    if not sboms:
        return None
    facts = (
        await session.scalars(
            select(SbomFact.value).where(SbomFact.sbom_id.in_(sboms), SbomFact.kind == "license")
        )
    ).all()
    return sorted(set(facts))


async def version_by_digest(
    session: AsyncSession, repository: str, manifest_digest: str
) -> tuple[Repository, Manifest, Tag] | None:
    """A version of ``repository`` whose manifest is ``manifest_digest``, if one exists."""
    found = (
        await session.execute(
            select(Repository, Manifest, Tag)
            .join(Manifest, Manifest.repository_id == Repository.id)
            .join(Tag, Tag.manifest_id == Manifest.id)
            .where(
                Repository.name == repository,
                Manifest.digest == manifest_digest,
                Tag.is_version.is_(True),
            )
            .limit(1)
        )
    ).first()
    if found is None:
        return None
    repo, manifest, tag = found
    return repo, manifest, tag
