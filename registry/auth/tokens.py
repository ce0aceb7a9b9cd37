"""API tokens: issued once, stored only as a SHA-256 hash, scoped, expiring, revocable.

A token reads ``cst_<id>_<secret>``: the id is public (it names the token in
listings, the audit log and ``custody token revoke``), the secret is 256 random
bits. Lookup is by the hash of the whole token, so the database never holds
anything that authenticates.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import record
from registry.auth import queries
from registry.auth.principal import ALL_NAMESPACES, Principal, Scope
from registry.db.models import ApiToken, Namespace
from registry.db.types import utcnow
from registry.errors import InvalidInput, NotFound, Unauthorized
from registry.http.text import check_text
from registry.naming import validate_namespace

PREFIX = "cst_"
MAX_TOKEN_LIFETIME_SECONDS = 100 * 366 * 86400
_TOKEN_ID = re.compile(r"[0-9a-f]{16}")  # secrets.token_hex(8)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly created token: the only moment its secret exists in clear."""

    id: str
    secret: str
    namespace: str
    scopes: frozenset[Scope]
    expires_at: datetime | None


class TokenService:
    """Create, revoke, list and authenticate tokens within one DB session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        *,
        namespace: str,
        scopes: frozenset[Scope],
        actor: str,
        expires_in: timedelta | None,
        description: str = "",
    ) -> IssuedToken:
        if namespace != ALL_NAMESPACES:
            validate_namespace(namespace)
            await ensure_namespace(self.session, namespace, actor=actor)
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidInput("a token's lifetime must be positive")
        if len(description) > 1000:
            raise InvalidInput("description is longer than 1000 characters")
        check_text(description, "the description")  # the CLI's way in, past the HTTP boundary
        token_id = secrets.token_hex(8)
        secret = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = utcnow()
        expires_at = now + expires_in if expires_in is not None else None
        self.session.add(
            ApiToken(
                id=token_id,
                token_hash=hash_token(secret),
                namespace=namespace,
                scopes=",".join(sorted(scopes)),
                description=description,
                created_by=actor,
                created_at=now,
                expires_at=expires_at,
            )
        )
        await record(
            self.session,
            actor=actor,
            action="token.create",
            subject=f"token:{token_id}",
            namespace=None if namespace == ALL_NAMESPACES else namespace,
            detail={"scopes": sorted(scopes), "expires_at": _iso(expires_at)},
        )
        return IssuedToken(token_id, secret, namespace, scopes, expires_at)

    async def revoke(self, token_id: str, *, actor: str) -> ApiToken:
        token = await self.get(token_id)
        if token is None:
            raise NotFound(f"no token with id {token_id!r}")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            await record(
                self.session,
                actor=actor,
                action="token.revoke",
                subject=f"token:{token_id}",
                namespace=None if token.namespace == ALL_NAMESPACES else token.namespace,
            )
        return token

    async def get(self, token_id: str) -> ApiToken | None:
        if not _TOKEN_ID.fullmatch(token_id):  # no query with what cannot be an id
            return None
        return await queries.api_token(self.session, token_id)

    async def list(self, namespace: str | None = None) -> list[ApiToken]:
        return await queries.api_tokens(self.session, namespace)

    async def authenticate(self, secret: str) -> Principal:
        """Return the principal for a presented token, or raise 401 saying why."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            raise Unauthorized("the credential is not a Custody token")
        token = await queries.api_token_by_hash(self.session, hash_token(secret))
        if token is None:
            raise Unauthorized("the token is not valid")
        if token.revoked_at is not None:
            raise Unauthorized(f"token {token.id} has been revoked")
        if token.expires_at is not None and token.expires_at <= utcnow():
            raise Unauthorized(f"token {token.id} expired at {_iso(token.expires_at)}")
        scopes = frozenset(Scope(s) for s in token.scopes.split(",") if s)
        return Principal(
            actor=f"token:{token.id}",
            token_id=token.id,
            namespace=token.namespace,
            scopes=scopes,
            expires_at=token.expires_at,
        )


async def ensure_namespace(session: AsyncSession, name: str, *, actor: str) -> Namespace:
    """Return the namespace, creating (and auditing) it if new.

    An insert-if-absent, not a read then an insert: many first pushes into one new
    namespace may race, and exactly one of them creates (and audits) it.
    """
    validate_namespace(name)
    namespace = await queries.namespace(session, name)
    if namespace is not None:
        return namespace
    created = await queries.insert_namespace(session, name)
    namespace = await queries.namespace(session, name)
    if namespace is None:  # pragma: no cover - inserted, or another transaction did
        raise RuntimeError(f"namespace {name} vanished after insert")
    if created:
        await record(
            session,
            actor=actor,
            action="namespace.create",
            subject=f"namespace:{name}",
            namespace=name,
        )
    return namespace


def parse_duration(text: str) -> timedelta | None:
    """``90d``, ``12h``, ``30m``, ``3600s`` or ``never``."""
    text = text.strip().lower()
    if text in {"never", "none", "0"}:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    number, unit = text[:-1], text[-1:]
    # ASCII digits, and few of them: int() of thousands of digits raises, and a date
    # past the year 9999 overflows.
    if unit not in units or not re.fullmatch(r"[0-9]{1,12}", number) or int(number) <= 0:
        raise InvalidInput(
            f"duration {text[:40]!r} must be a positive number with a unit s, m, h, d or w, "
            "or 'never'"
        )
    seconds = int(number) * units[unit]
    if seconds > MAX_TOKEN_LIFETIME_SECONDS:
        raise InvalidInput(f"duration {text!r} is longer than 100 years: use 'never'")
    return timedelta(seconds=seconds)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
