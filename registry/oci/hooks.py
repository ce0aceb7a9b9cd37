"""The promotion gate: the one place an alias move (or removal) is checked.

Every path that moves an alias — ``PUT /api/v1/.../aliases/{alias}``, an OCI
client pushing a non-version tag, deleting a manifest an alias points at —
calls :meth:`PromotionGate.check`. The application wires the policy gate
(:class:`registry.verification.gate.PolicyGate`: trust and admission policies);
tests may pass their own.
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
