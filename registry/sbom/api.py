"""``POST .../versions/{version}/sbom`` and ``GET /api/v1/versions`` (search by SBOM facts)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter

from registry.auth import Scope
from registry.auth.deps import Caller
from registry.errors import NotFound, PayloadTooLarge
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
from registry.naming import validate_tag
from registry.oci import queries as oci_queries
from registry.sbom import schemas, service
from registry.verification.signer_search import MAX_SIGNER_LENGTH

_SIGNER_DESCRIPTION = (
    "Versions with a verified signature by this signer: a key id (64 hex digits, or a "
    "prefix of at least 8; `key:` optional), a certificate or Sigstore identity exactly as "
    "signed (the e-mail or URI SAN, or the certificate subject; e-mail addresses without "
    "regard to case; any issuer), or the name of the trust-policy signer that accepted the "
    "signature. Failed signatures never match; `%` and `_` are plain characters."
)


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
    ) -> schemas.SbomAttached:
        repository = await load_model(services, db_session, principal, namespace, model, Scope.PUSH)
        tag = await oci_queries.find_tag(db_session, repository, validate_tag(version))
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
        return schemas.SbomAttached(
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
        summary="Find versions by SBOM facts and by who signed them",
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
        signer: Annotated[
            str | None,
            QueryParameter(max_length=MAX_SIGNER_LENGTH, description=_SIGNER_DESCRIPTION),
        ] = None,
        namespace: Annotated[
            str | None,
            QueryParameter(max_length=128, description="Only versions in this namespace."),
        ] = None,
        limit: PageSize = 100,
        offset: Offset = 0,
    ) -> schemas.VersionSearch:
        """Versions whose SBOM uses a dataset, a licence (SPDX id), an ONNX opset
        (``13`` = ai.onnx >= 13, or ``com.microsoft>=1``), a component digest, ...; or that
        carry a verified signature by ``signer``. Every filter given must hold. A version
        without an SBOM is found by ``signer`` alone (its ``sbom_digest`` is null)."""
        return await service.search_versions(
            db_session,
            principal,
            facts={"dataset": dataset, "license": license, "supplier": supplier, "dtype": dtype},
            component=component,
            opset=opset,
            signer=signer,
            namespace=namespace,
            limit=limit,
            offset=offset,
        )
