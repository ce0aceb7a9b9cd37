"""Short-lived OCI access tokens, as issued by a Docker-style token endpoint.

OCI clients (oras, docker, crane) authenticate with HTTP Basic at the token
endpoint — any user name, a Custody API token as password — asking for scopes
such as ``repository:acme/model:pull,push``. They receive a bearer token valid
for a few minutes whose grants are the intersection of what was asked and what
the API token allows; the answer's ``access`` lists the actions granted per
repository, in the asked terms:

- ``*`` asks for every action (the Docker token specification; skopeo asks it
  for everything it does): a pull-and-push token is granted pull, push and
  delete, not nothing because ``*`` also covers admin.
- ``delete`` (needs push) covers deleting blobs and manifests no alias names.
  Creating, moving or deleting an alias tag needs ``promote`` as well (ADR 0012):
  ``push`` carries it only when the API token holds it, and then ``access``
  lists ``promote`` too, so a token whose answer lacks it cannot touch aliases.
- Anonymous pull is listed when the namespace allows it, but never stored in the
  token: it is decided on every request (``registry.auth.anonymous``), so
  turning it off stops the token at once.

Like API tokens, only its SHA-256 is stored, so every replica can check it and
revoking the API token revokes its access tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import queries
from registry.auth.anonymous import AnonymousPull
from registry.auth.principal import Principal, Scope
from registry.auth.tokens import hash_token
from registry.db.models import AccessToken
from registry.db.types import utcnow
from registry.errors import NameInvalid, Unauthorized
from registry.naming import RepositoryName

PREFIX = "csa_"

#: The scope each action needs; ``*`` stands for all of them (admin included).
_SCOPE_OF = {"pull": Scope.PULL, "push": Scope.PUSH, "delete": Scope.PUSH, "*": Scope.ADMIN}
_EXPANDS = {"*": ("pull", "push", "delete", "*")}


@dataclass(frozen=True, slots=True)
class IssuedAccess:
    token: str
    expires_in: int
    issued_at: datetime
    grants: dict[str, list[str]]
    #: The Docker token specification's ``access``: what was granted, in the asked terms.
    access: list[dict[str, object]]


def parse_scope(text: str) -> tuple[str, list[str]] | None:
    """``repository:acme/model:pull,push`` -> (name, actions); other types -> None."""
    kind, _, rest = text.partition(":")
    if kind != "repository" or ":" not in rest:
        return None
    name, _, actions = rest.rpartition(":")
    return name, [a for a in actions.split(",") if a]


class AccessTokenService:
    def __init__(self, session: AsyncSession, ttl: timedelta) -> None:
        self.session = session
        self.ttl = ttl

    async def issue(
        self, principal: Principal, requested: list[str], anonymous: AnonymousPull
    ) -> IssuedAccess:
        grants: dict[str, set[Scope]] = {}
        actions_granted: dict[str, set[str]] = {}
        for text in requested:
            for scope_text in text.split(" "):
                parsed = parse_scope(scope_text)
                if parsed is None:
                    continue
                name_text, asked = parsed
                try:
                    name = RepositoryName.parse(name_text)
                except NameInvalid:
                    continue  # never grant on a name that cannot exist
                for action in (a for word in asked for a in _EXPANDS.get(word, (word,))):
                    scope = _SCOPE_OF.get(action)
                    if scope is None:
                        continue
                    if principal.allows(name.namespace, scope, name.full):
                        grants.setdefault(name.full, set()).add(scope)
                        actions_granted.setdefault(name.full, set()).add(action)
                    elif scope is Scope.PULL and await anonymous.allowed(name.namespace):
                        # Reported, never stored: anonymous pull is decided per request,
                        # so turning it off stops this token at once (registry.auth.anonymous).
                        actions_granted.setdefault(name.full, set()).add(action)
                    # OCI's "push" covers writing tags; moving an alias tag needs promote,
                    # granted with push only to an API token that holds it, and reported.
                    if scope is Scope.PUSH and principal.allows(
                        name.namespace, Scope.PROMOTE, name.full
                    ):
                        grants.setdefault(name.full, set()).add(Scope.PROMOTE)
                        actions_granted.setdefault(name.full, set()).add(Scope.PROMOTE.value)
        token = PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        plain = {repo: sorted(s.value for s in scopes) for repo, scopes in grants.items()}
        self.session.add(
            AccessToken(
                token_hash=hash_token(token),
                api_token_id=principal.token_id,
                actor=principal.actor,
                grants=plain,
                created_at=now,
                expires_at=now + self.ttl,
            )
        )
        # Opportunistic clean-up keeps the table small without a separate job.
        await queries.drop_expired_access_tokens(self.session, now)
        access: list[dict[str, object]] = [
            {"type": "repository", "name": repo, "actions": sorted(actions)}
            for repo, actions in sorted(actions_granted.items())
        ]
        return IssuedAccess(token, int(self.ttl.total_seconds()), now, plain, access)

    async def authenticate(self, token: str) -> Principal:
        row = await queries.access_token(self.session, hash_token(token))
        if row is None:
            raise Unauthorized("the access token is not valid")
        if row.expires_at <= utcnow():
            raise Unauthorized("the access token has expired; request a new one")
        if row.api_token_id is not None:
            api_token = await queries.api_token(self.session, row.api_token_id)
            if api_token is None or api_token.revoked_at is not None:
                raise Unauthorized("the token this access token came from has been revoked")
        grants = {
            repo: frozenset(Scope(a) for a in actions) for repo, actions in row.grants.items()
        }
        return Principal(
            actor=row.actor, token_id=row.api_token_id, grants=grants, expires_at=row.expires_at
        )
