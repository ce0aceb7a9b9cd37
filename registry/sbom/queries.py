"""The SBOM slice's SQL: SBOM rows by referrer, and versions found by SBOM facts (and by
any other condition on their manifests, such as who signed them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import Manifest, Namespace, Repository, Sbom, SbomFact, Tag


async def sbom_of_referrer(session: AsyncSession, referrer: Manifest) -> Sbom | None:
    found: Sbom | None = await session.scalar(
        select(Sbom).where(Sbom.referrer_manifest_id == referrer.id)
    )
    return found


def with_fact(kind: str, value: str) -> Select[Any]:
    """The SBOMs with the fact ``kind`` = ``value``."""
    return select(SbomFact.sbom_id).where(SbomFact.kind == kind, SbomFact.value == value)


def with_opset(domain: str, op: str, version: int) -> Select[Any]:
    """The SBOMs using the ONNX opset ``domain`` at a version ``op`` (>=, <= or =) ``version``."""
    query = select(SbomFact.sbom_id).where(SbomFact.kind == "opset", SbomFact.value == domain)
    if op == ">=":
        return query.where(SbomFact.number >= version)
    if op == "<=":
        return query.where(SbomFact.number <= version)
    return query.where(SbomFact.number == version)


async def versions_with(
    session: AsyncSession,
    conditions: Sequence[Select[Any]],
    *,
    versions: Sequence[Select[Any]] = (),
    namespace: str | None = None,
    visible: Select[Any] | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Row[str, str, str, str | None]], int]:
    """(model, version, manifest digest, SBOM digest) of the versions whose SBOM is in every
    one of ``conditions`` (SBOM ids) and whose manifest is in every one of ``versions``
    (manifest ids), in ``namespace`` if given and in namespaces ``visible`` (all if ``None``),
    and their total. A version without an SBOM is found (with no SBOM digest) only when
    ``conditions`` is empty; one with two SBOMs once per SBOM."""
    columns = select(Repository.name, Tag.name, Manifest.digest, Sbom.blob_digest)
    version_tag = and_(Tag.manifest_id == Manifest.id, Tag.is_version.is_(True))
    if conditions:
        # From the SBOMs the facts select: the planner starts from the facts' index.
        query = (
            columns.select_from(Sbom)
            .join(Manifest, Manifest.id == Sbom.subject_manifest_id)
            .join(Tag, version_tag)
        )
    else:
        query = (
            columns.select_from(Tag)
            .join(Manifest, version_tag)
            .outerjoin(Sbom, Sbom.subject_manifest_id == Manifest.id)
        )
    query = query.join(Repository, Repository.id == Manifest.repository_id).join(
        Namespace, Namespace.id == Repository.namespace_id
    )
    for condition in conditions:
        query = query.where(Sbom.id.in_(condition))
    for version_condition in versions:
        query = query.where(Manifest.id.in_(version_condition))
    if namespace is not None:
        query = query.where(Namespace.name == namespace)
    if visible is not None:
        query = query.where(Namespace.name.in_(visible))
    query = query.distinct()
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (
        await session.execute(
            query.order_by(Repository.name, Tag.name, Sbom.blob_digest).limit(limit).offset(offset)
        )
    ).all()
    return rows, int(total or 0)
