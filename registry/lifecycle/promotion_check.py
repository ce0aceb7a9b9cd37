"""``.../versions/{version}/promotion-check``: would the promotion gate let an alias move here?

A dry run of :class:`registry.verification.gate.PolicyGate` under the policies in force;
it sits with the models it reads, above the policy files (:mod:`registry.policies_in_force`).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import QueryParameter

from registry.auth import Scope
from registry.auth.deps import Caller
from registry.errors import InvalidInput, NotFound
from registry.http.deps import AppServices, Blobs, DbSession
from registry.http.openapi import (
    OPTIONAL_TOKEN,
    TAG_PATTERN,
    ModelPath,
    NamespacePath,
    TagPath,
    problems,
)
from registry.lifecycle.api import load_model
from registry.naming import validate_tag
from registry.oci import queries as oci_queries
from registry.verification.decisions import check_alias

__all__ = ["PromotionCheckController"]


class PromotionCheckController(Controller):
    path = "/api/v1"
    tags = ["policies"]

    @get(
        "/models/{namespace:str}/{model:str}/versions/{version:str}/promotion-check",
        summary="Would moving ALIAS to this version be allowed? (dry run, changes nothing)",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401, 403, 404),
    )
    async def promotion_check(
        self,
        namespace: NamespacePath,
        model: ModelPath,
        version: TagPath,
        alias: Annotated[
            str,
            QueryParameter(
                description="The alias to check",
                schema_extra={"pattern": TAG_PATTERN, "minLength": 1, "maxLength": 128},
            ),
        ],
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
        blobs: Blobs,
    ) -> dict[str, Any]:
        repository = await load_model(services, db_session, principal, namespace, model, Scope.PULL)
        validate_tag(alias)
        if services.versions.is_version(alias):
            raise InvalidInput(f"{alias!r} is a version, not an alias: versions never move")
        tag = await oci_queries.find_tag(db_session, repository, validate_tag(version))
        if tag is None or not tag.is_version:
            raise NotFound(f"{repository.name} has no version {version}")
        decision = await check_alias(
            db_session,
            blobs,
            services.policies.current,
            repository=repository,
            alias=alias,
            target=tag.manifest,
            actor=principal.actor,
        )
        result = {"model": repository.name, "version": version, "alias": alias}
        await db_session.rollback()  # a dry run: refreshed verdicts are not kept
        return {**result, **decision.to_json()}
