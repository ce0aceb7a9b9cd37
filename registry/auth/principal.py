"""Who is asking, and what they may do.

Scopes are per namespace. ``push`` implies ``pull`` (a client pushing must be
able to check what is there, as in Harbor and Docker Hub). ``promote`` moves and
deletes aliases (``production``, ``staging``) and implies ``pull`` but not
``push``: a CI token that publishes versions cannot also promote them, and a
release manager's token that promotes cannot publish (ADR 0012). ``admin``
implies all three. A token whose namespace is ``*`` is a site token that applies
to every namespace.

A short-lived access token from the OCI token endpoint carries *grants*
instead: actions on named repositories, and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from registry.errors import Denied, InvalidInput, Unauthorized

ALL_NAMESPACES = "*"


class Scope(StrEnum):
    PULL = "pull"
    PUSH = "push"
    PROMOTE = "promote"
    ADMIN = "admin"

    @classmethod
    def parse_list(cls, text: str) -> frozenset[Scope]:
        """Parse ``pull,push`` into scopes; unknown or empty lists are refused."""
        names = [part.strip() for part in text.split(",") if part.strip()]
        if not names:
            raise InvalidInput(f"at least one scope is required ({_NAMES})")
        scopes: set[Scope] = set()
        for name in names:
            try:
                scopes.add(cls(name))
            except ValueError:
                raise InvalidInput(f"unknown scope {name!r}: use {_NAMES}") from None
        return frozenset(scopes)


_NAMES = "pull, push, promote or admin"
_IMPLIED = {
    Scope.ADMIN: {Scope.ADMIN, Scope.PROMOTE, Scope.PUSH, Scope.PULL},
    Scope.PROMOTE: {Scope.PROMOTE, Scope.PULL},
    Scope.PUSH: {Scope.PUSH, Scope.PULL},
    Scope.PULL: {Scope.PULL},
}


def effective(scopes: frozenset[Scope]) -> frozenset[Scope]:
    out: set[Scope] = set()
    for scope in scopes:
        out |= _IMPLIED[scope]
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request."""

    actor: str
    token_id: str | None = None
    namespace: str | None = None
    scopes: frozenset[Scope] = frozenset()
    #: For OCI access tokens: repository -> actions; ``None`` for API tokens.
    grants: Mapping[str, frozenset[Scope]] | None = field(default=None, hash=False)
    #: When the credential stops being valid (``None``: never, or anonymous).
    expires_at: datetime | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(actor="anonymous")

    @property
    def is_anonymous(self) -> bool:
        return self.token_id is None and self.grants is None

    @property
    def is_site_admin(self) -> bool:
        return self.namespace == ALL_NAMESPACES and Scope.ADMIN in self.scopes

    def allows(self, namespace: str, scope: Scope, repository: str | None = None) -> bool:
        if self.grants is not None:
            if repository is None:
                return False
            return scope in effective(self.grants.get(repository, frozenset()))
        if self.namespace not in {namespace, ALL_NAMESPACES}:
            return False
        return scope in effective(self.scopes)

    def require(
        self,
        namespace: str,
        scope: Scope,
        *,
        repository: str | None = None,
        anonymous_ok: bool = False,
    ) -> None:
        """Raise 401 for a missing credential, 403 for an insufficient one."""
        if anonymous_ok and scope is Scope.PULL:
            return
        if self.allows(namespace, scope, repository):
            return
        target = f"repository {repository!r}" if repository else f"namespace {namespace!r}"
        if self.is_anonymous:
            raise Unauthorized(f"authentication required for {scope} on {target}")
        who = f"token {self.token_id}" if self.token_id else "this access token"
        raise Denied(
            f"{who} does not grant {scope} on {target}",
            extra={"missing_scope": scope.value},
        )

    def require_site_admin(self) -> None:
        if self.is_site_admin:
            return
        if self.is_anonymous:
            raise Unauthorized("authentication required")
        raise Denied(f"token {self.token_id} is not a site admin token (namespace '*', admin)")
