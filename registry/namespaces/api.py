"""``/api/v1/namespaces/{ns}``: namespace settings (anonymous pull)."""

from __future__ import annotations

from litestar import Controller, get, patch
from litestar.params import JSONBody

from registry.auth import Scope
from registry.auth.deps import Caller
from registry.db.models import Namespace
from registry.http.deps import AppServices, DbSession
from registry.http.openapi import OPTIONAL_TOKEN, TOKEN, NamespacePath, problems
from registry.namespaces import service
from registry.namespaces.schemas import NamespaceUpdate, NamespaceView
from registry.naming import validate_namespace


def _view(namespace: Namespace) -> NamespaceView:
    return NamespaceView(
        name=namespace.name,
        anonymous_pull=namespace.anonymous_pull,
        created_at=namespace.created_at,
    )


class NamespaceController(Controller):
    path = "/api/v1/namespaces"
    tags = ["namespaces"]

    @get("/{name:str}", security=OPTIONAL_TOKEN, responses=problems(400, 401, 403, 404))
    async def get_namespace(
        self, name: NamespacePath, principal: Caller, db_session: DbSession, services: AppServices
    ) -> NamespaceView:
        namespace = await service.namespace_named(db_session, name)
        if not principal.allows(name, Scope.PULL):
            principal.require(
                name, Scope.PULL, anonymous_ok=await services.anonymous_pull.allowed(name)
            )
        return _view(namespace)

    @patch("/{name:str}", security=TOKEN, responses=problems(400, 401, 403, 404))
    async def update_namespace(
        self,
        name: NamespacePath,
        data: JSONBody[NamespaceUpdate],
        principal: Caller,
        db_session: DbSession,
        services: AppServices,
    ) -> NamespaceView:
        validate_namespace(name)
        principal.require(name, Scope.ADMIN)
        namespace = await service.namespace_named(db_session, name)
        await service.set_anonymous_pull(
            db_session, namespace, data.anonymous_pull, actor=principal.actor
        )
        await db_session.commit()
        services.anonymous_pull.forget(name)  # at once in this process (registry.cache)
        return _view(namespace)
