"""``/api/v1/namespaces/{ns}``: namespace settings (anonymous pull, storage quota) and usage."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, patch
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import Scope
from registry.auth.deps import Caller
from registry.db.models import Namespace
from registry.http.deps import AppServices, DbSession
from registry.http.openapi import OPTIONAL_TOKEN, TOKEN, NamespacePath, problems
from registry.namespaces import service
from registry.namespaces.schemas import NamespaceUpdate, NamespaceView
from registry.naming import validate_namespace


async def _view(session: AsyncSession, namespace: Namespace) -> NamespaceView:
    usage = await service.namespace_usage(session, namespace)
    return NamespaceView(
        name=namespace.name,
        anonymous_pull=namespace.anonymous_pull,
        created_at=namespace.created_at,
        quota_bytes=namespace.quota_bytes,
        used_bytes=usage.used_bytes,
    )


class NamespaceController(Controller):
    path = "/api/v1/namespaces"
    tags = ["namespaces"]

    @get("/{name:str}", security=OPTIONAL_TOKEN, responses=problems(400, 401, 403, 404))
    async def get_namespace(
        self, name: NamespacePath, principal: Caller, db_session: DbSession, services: AppServices
    ) -> NamespaceView:
        """A namespace's settings, its storage quota and what it stores now."""
        namespace = await service.namespace_named(db_session, name)
        if not principal.allows(name, Scope.PULL):
            principal.require(
                name, Scope.PULL, anonymous_ok=await services.anonymous_pull.allowed(name)
            )
        return await _view(db_session, namespace)

    @patch("/{name:str}", security=TOKEN, responses=problems(400, 401, 403, 404))
    async def update_namespace(
        self,
        name: NamespacePath,
        data: JSONBody[NamespaceUpdate],
        principal: Caller,
        db_session: DbSession,
        services: AppServices,
    ) -> NamespaceView:
        """Change the fields given: ``anonymous_pull`` (namespace admin), ``quota_bytes``
        (site admin, as Harbor's project quotas: a namespace does not raise its own;
        ``null`` removes the quota)."""
        validate_namespace(name)
        principal.require(name, Scope.ADMIN)
        if data.quota_bytes is not msgspec.UNSET:
            principal.require_site_admin()
        namespace = await service.namespace_named(db_session, name)
        if data.anonymous_pull is not msgspec.UNSET:
            await service.set_anonymous_pull(
                db_session, namespace, data.anonymous_pull, actor=principal.actor
            )
        if data.quota_bytes is not msgspec.UNSET:
            await service.set_quota(db_session, namespace, data.quota_bytes, actor=principal.actor)
        await db_session.commit()
        services.anonymous_pull.forget(name)  # at once in this process (registry.cache)
        return await _view(db_session, namespace)
