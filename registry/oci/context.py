"""What every ``/v2/`` handler receives, and the OCI authorisation challenge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.auth import Principal, Scope
from registry.db.models import Repository
from registry.errors import Denied, NameUnknown, Unauthorized
from registry.naming import RepositoryName, VersionPattern
from registry.oci import queries
from registry.oci.hooks import OciHooks
from registry.services import Services
from registry.settings import Settings
from registry.storage import BlobStore

SERVICE = "custody"
TOKEN_PATH = "/auth/token"  # noqa: S105 - a URL path, not a secret

# An OCI client asks for pull/push; the token endpoint adds promote to a push grant
# when the API token holds it (registry.auth.access).
_ACTIONS = {
    Scope.PULL: "pull",
    Scope.PUSH: "pull,push",
    Scope.PROMOTE: "pull,push",
    Scope.ADMIN: "*",
}


def token_realm(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/") + TOKEN_PATH


def challenge(
    request: Request[Any, Any, Any],
    name: str | None = None,
    actions: str | None = None,
    *,
    insufficient: bool = False,
) -> str:
    """The ``WWW-Authenticate`` value that sends OCI clients to the token endpoint."""
    value = f'Bearer realm="{token_realm(request)}",service="{SERVICE}"'
    if name is not None and actions is not None:
        value += f',scope="repository:{name}:{actions}"'
    if insufficient:
        value += ',error="insufficient_scope"'
    return value


@dataclass
class OciContext:
    request: Request[Any, Any, Any]
    principal: Principal
    sessionmaker: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    settings: Settings
    hooks: OciHooks
    versions: VersionPattern
    services: Services
    _session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """The request's database session, opened on first use (cached pulls need none)."""
        if self._session is None:
            self._session = self.sessionmaker()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def authorize(
        self, name: RepositoryName, scope: Scope, *, actions: str | None = None
    ) -> None:
        """Require ``scope`` on the repository; 401/403 carry the Bearer challenge."""
        anonymous_ok = False
        if scope is Scope.PULL and not self.principal.allows(name.namespace, scope, name.full):
            anonymous_ok = await self.services.anonymous_pull.allowed(name.namespace)
        try:
            self.principal.require(
                name.namespace, scope, repository=name.full, anonymous_ok=anonymous_ok
            )
        except Unauthorized as exc:
            exc.headers["WWW-Authenticate"] = challenge(
                self.request, name.full, actions or _ACTIONS[scope]
            )
            raise
        except Denied as exc:
            exc.headers["WWW-Authenticate"] = challenge(
                self.request, name.full, actions or _ACTIONS[scope], insufficient=True
            )
            raise

    async def can_pull(self, name: RepositoryName) -> bool:
        try:
            await self.authorize(name, Scope.PULL)
        except (Unauthorized, Denied):
            return False
        return True

    async def repository(self, name: RepositoryName) -> Repository:
        repository = await queries.find_repository(self.session, name)
        if repository is None:
            raise NameUnknown(f"repository {name} is not known")
        return repository
