"""The promotion gate: the one place an alias move (or removal) is checked.

Every path that moves an alias — ``PUT /api/v1/.../aliases/{alias}``, an OCI
client pushing a non-version tag, deleting a manifest an alias points at —
calls :meth:`PromotionGate.check`. Today's gate allows everything; the
promotion-policy issue plugs a policy-backed gate in here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import Principal
from registry.db.models import Manifest, Repository


@dataclass(frozen=True, slots=True)
class AliasMove:
    repository: Repository
    alias: str
    current: Manifest | None
    #: ``None`` when the alias is being removed.
    target: Manifest | None
    principal: Principal


class PromotionGate(Protocol):
    async def check(self, session: AsyncSession, move: AliasMove) -> None:
        """Return to allow the move; raise a :class:`~registry.errors.RegistryError` to refuse."""
        ...


class AllowAll:
    """No promotion policy: every authorised move is allowed (and still audited)."""

    async def check(self, session: AsyncSession, move: AliasMove) -> None:
        return None
