"""``/api/v1/namespaces/{ns}``: namespace settings (anonymous pull)."""

from __future__ import annotations

from litestar import Controller, get, patch
from litestar.params import JSONBody
from sqlalchemy import select

from registry.audit.service import record
from registry.auth import Scope
from registry.auth.deps import Caller
from registry.db.models import Namespace
from registry.errors import NotFound
from registry.http.deps import AppServices, DbSession
from registry.http.openapi import OPTIONAL_TOKEN, TOKEN, NamespacePath, problems
from registry.namespaces.schemas import NamespaceUpdate, NamespaceView
from registry.naming import validate_namespace


async def _load(db_session: DbSession, name: str) -> Namespace:
    validate_namespace(name)
    namespace = await db_session.scalar(select(Namespace).where(Namespace.name == name))
    if namespace is None:
        raise NotFound(f"namespace {name!r} does not exist")
    return namespace


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
        namespace = await _load(db_session, name)
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
        namespace = await _load(db_session, name)
        if namespace.anonymous_pull != data.anonymous_pull:
            namespace.anonymous_pull = data.anonymous_pull
            await record(
                db_session,
                actor=principal.actor,
                action="namespace.update",
                subject=f"namespace:{name}",
                namespace=name,
                detail={"anonymous_pull": data.anonymous_pull},
            )
        await db_session.commit()
        services.anonymous_pull.forget(name)  # at once in this process (registry.cache)
        return _view(namespace)
