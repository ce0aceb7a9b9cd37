"""Recording a verified claim: the model check, idempotency, the log entry, the row.

A :class:`Claim` is what the format checks (:mod:`registry.hub.claims`) proved
about one image. Before it is recorded the hub asks the registry whether the
claim's model version is one of its versions and whether a signature of it
verifies under the namespace's trust policy now. The log entry, the row and its
audit event commit in one transaction, the log's batch (see
:mod:`registry.tlog.log`): the writer looks for an earlier registration of the
image inside that transaction, so a race between two registrations of one image
is decided there, and the loser appends nothing and gets the winner's answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import audit_row
from registry.auth import Principal
from registry.db.models import HubOutput
from registry.hub import queries
from registry.hub.errors import DuplicateRegistration, Rejected
from registry.hub.ledger import REGISTRATION, Ledger, Logged, Rows
from registry.hub.model_status import model_status
from registry.hub.schemas import OutputSummary
from registry.services import Services
from registry.tlog import NewRow, Withdrawn


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


async def require_verified_model(session: AsyncSession, services: Services, claim: Claim) -> None:
    """The chain's root must name a version of this registry whose signature verifies."""
    status = await model_status(session, services, claim.repository, claim.model_digest)
    # Keep verdicts re-verified under a new trust policy, and end the transaction holding
    # their write: the log appends from a connection of its own (SQLite has one writer).
    await session.commit()
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
    session: AsyncSession, services: Services, ledger: Ledger, principal: Principal, claim: Claim
) -> tuple[HubOutput, Logged | None]:
    """Record ``claim``; returns the row and, if it is new, its log entry (``None``: an
    identical claim was registered before, and that registration stands)."""
    await require_verified_model(session, services, claim)
    made: list[HubOutput] = []

    def rows(writing: Connection, logged: Logged) -> Rows:
        earlier = queries.earlier_output(writing, claim.image_digest)
        if earlier is not None:
            _same_or_conflict(earlier.claim_digest, earlier.log_index, earlier.creator, claim)
            return Withdrawn(None)
        values = _output_values(claim, principal, logged)
        made[:] = [HubOutput(**values)]  # what the answer shows; a retried batch calls again
        return [(queries.OUTPUTS, values), _audit(claim, principal, logged)]

    outcome = await ledger.append(
        REGISTRATION,
        {
            "image": claim.image_digest,
            "claim": claim.claim_digest,
            "kind": claim.kind,
            "model": claim.model_reference,
            "creator": claim.creator,
            "creatorKeyId": claim.creator_key_id,
        },
        rows,
    )
    if isinstance(outcome, Withdrawn):
        existing = await queries.output_by_image(session, claim.image_digest)
        if existing is None:  # pragma: no cover - rows are never deleted
            raise AssertionError(f"{claim.image_digest} was registered but is not found")
        return existing, None
    return made[0], outcome


def _output_values(claim: Claim, principal: Principal, logged: Logged) -> dict[str, Any]:
    return {
        "image_digest": claim.image_digest,
        "kind": claim.kind,
        "claim_digest": claim.claim_digest,
        "namespace": claim.namespace,
        "model": claim.repository,
        "model_digest": claim.model_digest,
        "creator": claim.creator,
        "license": claim.license,
        "terms": {"terms": claim.terms, "ingredients": claim.ingredients},
        "chain": claim.chain,
        "c2pa_label": claim.c2pa_label,
        "image_checked": claim.image_checked,
        "registered_by": principal.actor,
        "registered_at": logged.integrated_time,
        "log_index": logged.index,
        "leaf_hash": logged.leaf_hash,
    }


def _audit(claim: Claim, principal: Principal, logged: Logged) -> NewRow:
    return audit_row(
        actor=principal.actor,
        action="hub.register",
        subject=f"image:{claim.image_digest}",
        namespace=claim.namespace,
        detail={"model": claim.model_reference, "logIndex": logged.index, "kind": claim.kind},
    )


def _same_or_conflict(claim_digest: str, log_index: int, creator: str, claim: Claim) -> None:
    if claim_digest != claim.claim_digest:
        raise DuplicateRegistration(
            f"{claim.image_digest} was registered first at log index {log_index} "
            f"by {creator} with another claim",
            extra={"logIndex": log_index},
        )


def terms_of(output: HubOutput) -> list[str]:
    return list(output.terms.get("terms", []))


def output_summary(output: HubOutput) -> OutputSummary:
    """One registered output as the lists show it (``GET /api/v1/outputs``, the version page)."""
    return OutputSummary(
        image_digest=output.image_digest,
        kind=output.kind,
        creator=output.creator,
        license=output.license,
        terms=terms_of(output),
        registered_at=output.registered_at,
        log_index=output.log_index,
        image_checked=output.image_checked,
    )
