"""``/api/v1/models``: models, versions, aliases and search over the OCI rows."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, put
from litestar.params import JSONBody, QueryParameter

from registry.auth import Scope
from registry.auth.deps import Caller
from registry.db.models import Repository
from registry.errors import NotFound
from registry.http.deps import AppServices, Blobs, DbSession
from registry.http.openapi import (
    OPTIONAL_TOKEN,
    TOKEN,
    ModelPath,
    NamespacePath,
    TagPath,
    problems,
)
from registry.http.params import Offset, PageSize
from registry.lifecycle import queries, schemas, service
from registry.naming import RepositoryName, validate_namespace
from registry.oci import queries as oci_queries
from registry.services import Services


async def load_model(
    services: Services,
    db_session: DbSession,
    principal: Caller,
    namespace: str,
    model: str,
    scope: Scope,
) -> Repository:
    name = RepositoryName.parse(f"{namespace}/{model}")
    anonymous_ok = False
    if scope is Scope.PULL and not principal.allows(name.namespace, scope):
        anonymous_ok = await services.anonymous_pull.allowed(name.namespace)
    principal.require(name.namespace, scope, anonymous_ok=anonymous_ok)
    repository = await oci_queries.find_repository(db_session, name)
    if repository is None:
        raise NotFound(f"model {name} does not exist")
    return repository


class ModelController(Controller):
    path = "/api/v1/models"
    tags = ["models"]

    @get(
        "/",
        summary="List and search models",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401),
    )
    async def list_models(
        self,
        principal: Caller,
        db_session: DbSession,
        namespace: Annotated[str | None, QueryParameter(max_length=128)] = None,
        q: Annotated[str | None, QueryParameter(max_length=255)] = None,
        media_type: Annotated[str | None, QueryParameter(max_length=255)] = None,
        limit: PageSize = 50,
        offset: Offset = 0,
    ) -> schemas.ModelList:
        """Models the caller may see; filter by namespace, name substring, file media type."""
        if namespace is not None:
            validate_namespace(namespace)
        return await queries.list_models(
            db_session,
            principal,
            namespace=namespace,
            query=q,
            media_type=media_type,
            limit=limit,
            offset=offset,
        )

    @get(
        "/{namespace:str}/{model:str}",
        summary="One model with its versions and aliases",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401, 403, 404),
    )
    async def get_model(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        principal: Caller,
        db_session: DbSession,
        services: AppServices,
    ) -> schemas.ModelView:
        repository = await load_model(services, db_session, principal, namespace, model, Scope.PULL)
        versions, _total = await queries.version_summaries(
            db_session, repository, limit=500, offset=0
        )
        return schemas.ModelView(
            name=repository.name,
            namespace=namespace,
            created_at=repository.created_at,
            versions=versions,
            aliases=await queries.alias_views(db_session, repository),
        )

    @get(
        "/{namespace:str}/{model:str}/versions",
        summary="A model's versions, oldest first",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401, 403, 404),
    )
    async def list_versions(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        principal: Caller,
        db_session: DbSession,
        services: AppServices,
        limit: PageSize = 50,
        offset: Offset = 0,
    ) -> schemas.VersionList:
        repository = await load_model(services, db_session, principal, namespace, model, Scope.PULL)
        versions, total = await queries.version_summaries(
            db_session, repository, limit=limit, offset=offset
        )
        return schemas.VersionList(
            versions=versions, page=schemas.Page(total=total, limit=limit, offset=offset)
        )

    @get(
        "/{namespace:str}/{model:str}/versions/{version:str}",
        summary="One version",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401, 403, 404),
    )
    async def get_version(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        version: TagPath,
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
        blobs: Blobs,
    ) -> schemas.VersionView:
        repository = await load_model(services, db_session, principal, namespace, model, Scope.PULL)
        return await service.version_view(
            db_session, blobs, services.policies.current, repository, version
        )

    @get(
        "/{namespace:str}/{model:str}/aliases/{alias:str}",
        summary="Resolve an alias (refused in strict namespaces when its version fails policy)",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401, 403, 404, 412),
    )
    async def resolve_alias(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        alias: TagPath,
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
        blobs: Blobs,
    ) -> schemas.VersionView:
        repository = await load_model(services, db_session, principal, namespace, model, Scope.PULL)
        return await service.resolve_alias(
            db_session, blobs, services.policies.current, repository, alias
        )

    @get(
        "/{namespace:str}/{model:str}/aliases",
        summary="A model's aliases",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401, 403, 404),
    )
    async def list_aliases(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        principal: Caller,
        db_session: DbSession,
        services: AppServices,
    ) -> list[schemas.AliasView]:
        repository = await load_model(services, db_session, principal, namespace, model, Scope.PULL)
        return await queries.alias_views(db_session, repository)

    @put(
        "/{namespace:str}/{model:str}/aliases/{alias:str}",
        summary="Move an alias to a version (audited, through the promotion gate)",
        security=TOKEN,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def move_alias(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        alias: TagPath,
        data: JSONBody[schemas.AliasMoveRequest],
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
    ) -> schemas.AliasMoveResult:
        repository = await load_model(
            services, db_session, principal, namespace, model, Scope.PROMOTE
        )
        result = await service.move_alias(
            db_session,
            repository,
            alias,
            data,
            principal=principal,
            versions=services.versions,
            hooks=services.oci_hooks,
        )
        await db_session.commit()
        services.manifest_cache.clear()
        return result

    @delete(
        "/{namespace:str}/{model:str}/aliases/{alias:str}",
        status_code=204,
        summary="Remove an alias (audited, through the promotion gate)",
        security=TOKEN,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def delete_alias(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        alias: TagPath,
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
    ) -> None:
        repository = await load_model(
            services, db_session, principal, namespace, model, Scope.PROMOTE
        )
        await service.remove_alias(
            db_session, repository, alias, principal=principal, hooks=services.oci_hooks
        )
        await db_session.commit()
        services.manifest_cache.clear()
