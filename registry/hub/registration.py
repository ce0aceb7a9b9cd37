"""Recording a verified claim: the model check, idempotency, the log entry, the row.

A :class:`Claim` is what the format checks (:mod:`registry.hub.claims`) proved
about one image. Before it is recorded the hub asks the registry whether the
claim's model version is one of its versions and whether a signature of it
verifies under the namespace's trust policy now. Order of writes: the log entry
first, then the row in one transaction; if the row loses a race with an
identical registration the answer is the winner's (the extra log entry records
an attempt, which an append-only log cannot take back, and is harmless).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar.datastructures import State
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit import record
from registry.auth import Principal
from registry.db.models import HubOutput
from registry.db.types import utcnow
from registry.hub import records
from registry.hub.errors import DuplicateRegistration, Rejected
from registry.hub.ledger import REGISTRATION, Ledger
from registry.hub.model_status import model_status


@dataclass(frozen=True, slots=True)
class Claim:
    """What a verified submission says about one image."""

    kind: str
    image_digest: str
    claim_digest: str
    namespace: str
    repository: str
    model_digest: str
    creator: str
    creator_key_id: str
    license: str
    terms: list[str]
    chain: dict[str, Any]
    image_checked: bool
    ingredients: list[str] = field(default_factory=list)
    c2pa_label: str | None = None

    @property
    def model_reference(self) -> str:
        return f"{self.repository}@{self.model_digest}"


async def require_verified_model(session: AsyncSession, state: State, claim: Claim) -> None:
    """The chain's root must name a version of this registry whose signature verifies."""
    status = await model_status(session, state, claim.repository, claim.model_digest)
    if not status.registered:
        raise Rejected(
            "model",
            f"{claim.model_reference} is not a version registered in this registry",
        )
    if not status.verified:
        raise Rejected(
            "model-signature",
            f"no signature of {claim.model_reference} verifies under the trust policy of "
            f"namespace {claim.namespace!r}",
        )


async def register(
    session: AsyncSession, state: State, ledger: Ledger, principal: Principal, claim: Claim
) -> tuple[HubOutput, bytes | None]:
    """Record ``claim``; returns the row and, if it is new, the bytes logged for it
    (``None``: an identical claim was registered before, and that registration stands)."""
    await require_verified_model(session, state, claim)
    existing = await records.output_by_image(session, claim.image_digest)
    if existing is not None:
        return _same_or_conflict(existing, claim), None
    logged = await ledger.append(
        REGISTRATION,
        {
            "image": claim.image_digest,
            "claim": claim.claim_digest,
            "kind": claim.kind,
            "model": claim.model_reference,
            "creator": claim.creator,
            "creatorKeyId": claim.creator_key_id,
        },
    )
    output = HubOutput(
        image_digest=claim.image_digest,
        kind=claim.kind,
        claim_digest=claim.claim_digest,
        namespace=claim.namespace,
        model=claim.repository,
        model_digest=claim.model_digest,
        creator=claim.creator,
        license=claim.license,
        terms={"terms": claim.terms, "ingredients": claim.ingredients},
        chain=claim.chain,
        c2pa_label=claim.c2pa_label,
        image_checked=claim.image_checked,
        registered_by=principal.actor,
        registered_at=utcnow(),
        log_index=logged.index,
        leaf_hash=logged.leaf_hash,
    )
    session.add(output)
    try:
        # No separate flush: the commit writes the row and the audit event in one go, and a
        # lost race with an identical registration still surfaces here as IntegrityError.
        await record(
            session,
            actor=principal.actor,
            action="hub.register",
            subject=f"image:{claim.image_digest}",
            namespace=claim.namespace,
            detail={"model": claim.model_reference, "logIndex": logged.index, "kind": claim.kind},
        )
        await session.commit()
    except IntegrityError:
        await session.rollback()
        winner = await records.output_by_image(session, claim.image_digest)
        if winner is None:
            raise
        return _same_or_conflict(winner, claim), None
    return output, logged.body


def _same_or_conflict(existing: HubOutput, claim: Claim) -> HubOutput:
    if existing.claim_digest == claim.claim_digest:
        return existing
    raise DuplicateRegistration(
        f"{claim.image_digest} was registered first at log index {existing.log_index} "
        f"by {existing.creator} with another claim",
        extra={"logIndex": existing.log_index},
    )


def terms_of(output: HubOutput) -> list[str]:
    return list(output.terms.get("terms", []))
