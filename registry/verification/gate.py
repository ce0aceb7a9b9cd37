"""The policy-backed promotion gate (the errors policy decisions raise are in
:mod:`registry.verification.errors`).

Every alias move (API, OCI tag push, manifest deletion) passes through
:meth:`PolicyGate.check`. A refused move is audited through
:func:`registry.audit.service.refuse`: the caller's transaction is rolled back with the
refused change (and any verdicts re-verified on the way), and the refusal's
event is committed on the same session, so refusals leave evidence too.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import record, refuse
from registry.oci.hooks import AliasMove
from registry.policies_in_force import PolicyHolder
from registry.storage import BlobStore
from registry.verification.decisions import Decision, check_alias
from registry.verification.errors import PromotionRefused

__all__ = ["PolicyGate"]


class PolicyGate:
    """Allows an alias move only when the target satisfies the alias's promotion rules."""

    def __init__(self, policies: PolicyHolder, blobs: BlobStore) -> None:
        self.policies = policies
        self.blobs = blobs

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
        await refuse(
            session,
            PromotionRefused(
                f"moving {subject} to {target} is refused: " + "; ".join(decision.failed),
                extra=decision.to_json(),
            ),
            actor=move.principal.actor,
            action="alias.refused",
            subject=subject,
            namespace=namespace,
            detail=detail,
        )
