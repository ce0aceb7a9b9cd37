"""``POST .../versions/{version}/sbom`` and ``GET /api/v1/versions`` (search by SBOM facts)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from sqlalchemy import Select, and_, func, select

from registry.auth import Scope
from registry.auth.deps import Caller
from registry.db.models import Manifest, Namespace, Repository, Sbom, SbomFact, Tag
from registry.digests import Digest
from registry.errors import InvalidInput, NotFound, PayloadTooLarge
from registry.http.deps import AppServices, Blobs, DbSession, read_limited_body
from registry.http.openapi import (
    DIGEST_PATTERN,
    OPTIONAL_TOKEN,
    TOKEN,
    ModelPath,
    NamespacePath,
    SbomUpload,
    TagPath,
    problems,
)
from registry.http.params import Offset, PageSize
from registry.lifecycle.api import load_model
from registry.lifecycle.queries import visible_namespaces
from registry.naming import validate_tag
from registry.oci import service as oci_service
from registry.sbom import service

_OPSET_RE = re.compile(r"^(?:(?P<domain>[A-Za-z0-9_.]*)(?P<op>>=|<=|=))?(?P<version>\d{1,4})\Z")


class SbomAttached(msgspec.Struct):
    model: str
    version: str
    sbom_digest: str
    referrer_digest: str
    spec_version: str
    binding: str
    summary: dict[str, Any]


class VersionHit(msgspec.Struct):
    model: str
    version: str
    digest: str
    sbom_digest: str


class VersionSearch(msgspec.Struct):
    versions: list[VersionHit]
    total: int


class SbomController(Controller):
    path = "/api/v1"
    tags = ["sbom"]

    @post(
        "/models/{namespace:str}/{model:str}/versions/{version:str}/sbom",
        status_code=201,
        request_max_body_size=None,
        summary="Attach a CycloneDX ML-BOM to a version (validated and bound first)",
        security=TOKEN,
        operation_class=SbomUpload,
        responses=problems(400, 401, 403, 404, 409, 413),
    )
    async def attach_sbom(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        version: TagPath,
        request: Request[Any, Any, Any],
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
        blobs: Blobs,
    ) -> SbomAttached:
        repository = await load_model(services, db_session, principal, namespace, model, Scope.PUSH)
        tag = await oci_service.find_tag(db_session, repository, validate_tag(version))
        if tag is None or not tag.is_version:
            raise NotFound(f"{repository.name} has no version {version}")
        limit = services.settings.oci.max_sbom_bytes
        data = await read_limited_body(
            request,
            limit,
            PayloadTooLarge(f"SBOM exceeds the {limit}-byte limit (CUSTODY_MAX_SBOM_BYTES)"),
        )
        sbom, referrer = await service.attach_sbom(
            db_session,
            blobs,
            repository=repository,
            subject=tag.manifest,
            data=data,
            limit=limit,
            actor=principal.actor,
        )
        await db_session.commit()
        return SbomAttached(
            model=repository.name,
            version=version,
            sbom_digest=sbom.blob_digest,
            referrer_digest=referrer.digest,
            spec_version=sbom.spec_version,
            binding=sbom.binding,
            summary=sbom.summary,
        )

    @get(
        "/versions",
        summary="Find versions by SBOM facts",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401),
    )
    async def search_versions(
        self,
        principal: Caller,
        db_session: DbSession,
        dataset: Annotated[str | None, QueryParameter(max_length=512)] = None,
        license: Annotated[str | None, QueryParameter(max_length=128)] = None,
        opset: Annotated[str | None, QueryParameter(max_length=64)] = None,
        component: Annotated[
            str | None, QueryParameter(max_length=160, schema_extra={"pattern": DIGEST_PATTERN})
        ] = None,
        supplier: Annotated[str | None, QueryParameter(max_length=512)] = None,
        dtype: Annotated[str | None, QueryParameter(max_length=32)] = None,
        limit: PageSize = 100,
        offset: Offset = 0,
    ) -> VersionSearch:
        """Versions whose SBOM uses a dataset, a licence (SPDX id), an ONNX opset
        (``13`` = ai.onnx >= 13, or ``com.microsoft>=1``), a component digest, ..."""
        conditions = []
        for kind, value in (
            ("dataset", dataset),
            ("license", license),
            ("supplier", supplier),
            ("dtype", dtype),
        ):
            if value is not None:
                conditions.append(_fact(kind, value))
        if component is not None:
            conditions.append(_fact("component", str(Digest.parse(component))))
        if opset is not None:
            conditions.append(_opset(opset))
        if not conditions:
            raise InvalidInput("give at least one of dataset, license, opset, component, ...")
        query = (
            select(Repository.name, Tag.name, Manifest.digest, Sbom.blob_digest)
            .join(Manifest, Manifest.id == Sbom.subject_manifest_id)
            .join(Tag, and_(Tag.manifest_id == Manifest.id, Tag.is_version.is_(True)))
            .join(Repository, Repository.id == Manifest.repository_id)
            .join(Namespace, Namespace.id == Repository.namespace_id)
        )
        for condition in conditions:
            query = query.where(Sbom.id.in_(condition))
        visible = visible_namespaces(principal)
        if visible is not None:
            query = query.where(Namespace.name.in_(visible))
        query = query.distinct()
        total = await db_session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (
            await db_session.execute(
                query.order_by(Repository.name, Tag.name).limit(limit).offset(offset)
            )
        ).all()
        return VersionSearch(
            versions=[
                VersionHit(model=r[0], version=r[1], digest=r[2], sbom_digest=r[3]) for r in rows
            ],
            total=int(total or 0),
        )


def _fact(kind: str, value: str) -> Select[Any]:
    return select(SbomFact.sbom_id).where(SbomFact.kind == kind, SbomFact.value == value)


def _opset(text: str) -> Select[Any]:
    match = _OPSET_RE.match(text.replace(" ", ""))
    if match is None:
        raise InvalidInput(f"opset {text!r} must look like 13, >=13, or com.microsoft>=1")
    domain = match.group("domain") or "ai.onnx"
    version = int(match.group("version"))
    op = match.group("op") or ">="
    query = select(SbomFact.sbom_id).where(SbomFact.kind == "opset", SbomFact.value == domain)
    if op == ">=":
        return query.where(SbomFact.number >= version)
    if op == "<=":
        return query.where(SbomFact.number <= version)
    return query.where(SbomFact.number == version)
