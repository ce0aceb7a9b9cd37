"""The policy-backed promotion gate, and the errors policy decisions raise.

Every alias move (API, OCI tag push, manifest deletion) passes through
:meth:`PolicyGate.check`. A refused move is audited in its own transaction — the
caller's is rolled back with the refused change — so refusals leave evidence too.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.audit import record
from registry.errors import Conflict, RegistryError
from registry.lifecycle.gate import AliasMove
from registry.policy import PolicyHolder
from registry.storage import BlobStore
from registry.verification.decisions import Decision, check_alias

__all__ = ["AdmissionRefused", "AliasBlocked", "PolicyGate", "PromotionRefused", "audit_refusal"]

_logger = logging.getLogger(__name__)


class PromotionRefused(Conflict):
    title = "Promotion refused by policy"


class AdmissionRefused(Conflict):
    title = "Push refused by admission policy"


class AliasBlocked(RegistryError):
    """A strict namespace's alias whose version no longer satisfies policy (Harbor answers 412)."""

    status_code = 412
    code = "DENIED"
    title = "Alias blocked by policy"


async def audit_refusal(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    actor: str,
    action: str,
    subject: str,
    namespace: str,
    detail: dict[str, object],
) -> None:
    """Record a refusal in a transaction of its own (the caller's will roll back)."""
    try:
        async with sessionmaker() as session:
            await record(
                session,
                actor=actor,
                action=action,
                subject=subject,
                namespace=namespace,
                detail=dict(detail),
            )
            await session.commit()
    except Exception:  # an audit failure must not turn a 409 into a 500
        _logger.exception("could not audit %s of %s", action, subject)


class PolicyGate:
    """Allows an alias move only when the target satisfies the alias's promotion rules."""

    def __init__(
        self,
        policies: PolicyHolder,
        blobs: BlobStore,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        self.policies = policies
        self.blobs = blobs
        self.sessionmaker = sessionmaker

    async def decide(self, session: AsyncSession, move: AliasMove) -> Decision | None:
        """The decision for ``move`` (``None`` for a removal, which is always allowed)."""
        if move.target is None:
            return None
        return await check_alias(
            session,
            self.blobs,
            self.policies.current,
            repository=move.repository,
            alias=move.alias,
            target=move.target,
            actor=move.principal.actor,
        )

    async def check(self, session: AsyncSession, move: AliasMove) -> None:
        decision = await self.decide(session, move)
        if decision is None:
            return
        namespace = move.repository.name.split("/", 1)[0]
        target = move.target.digest if move.target is not None else None
        detail = {"alias": move.alias, "target": target, **decision.to_json()}
        subject = f"{move.repository.name}:{move.alias}"
        if decision.allowed:
            await record(
                session,
                actor=move.principal.actor,
                action="alias.decision",
                subject=subject,
                namespace=namespace,
                detail=detail,
            )
            return
        await audit_refusal(
            self.sessionmaker,
            actor=move.principal.actor,
            action="alias.refused",
            subject=subject,
            namespace=namespace,
            detail=detail,
        )
        raise PromotionRefused(
            f"moving {subject} to {target} is refused: " + "; ".join(decision.failed),
            extra=decision.to_json(),
        )
