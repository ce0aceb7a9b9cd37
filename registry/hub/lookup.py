"""Reading attribution: what ``GET /api/v1/outputs/{digest}`` answers, and the pages show."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.hub import queries
from registry.hub.config import ledger_of
from registry.hub.errors import NotRegistered
from registry.hub.evidence import provenance_evidence
from registry.hub.model_status import model_status
from registry.hub.registration import terms_of
from registry.hub.schemas import Attribution, ModelView, ReprintView
from registry.services import Services

__all__ = ["attribution"]


async def attribution(session: AsyncSession, services: Services, image_digest: str) -> Attribution:
    """The attribution of a registered image (``image_digest`` already parsed), with its
    model version's signature status today, its reprints, its log receipt and each node's
    evidence (:mod:`registry.hub.evidence`)."""
    output = await queries.output_by_image(session, image_digest)
    if output is None:
        raise NotRegistered(f"{image_digest} is not registered with this hub")
    status = await model_status(session, services, output.model, output.model_digest)
    reprints = await queries.reprints_of(session, output)
    ledger = ledger_of(services)
    logged = await ledger.bodies([output.log_index, *(r.log_index for r in reprints)])
    return Attribution(
        image_digest=output.image_digest,
        kind=output.kind,
        creator=output.creator,
        model=ModelView(
            reference=f"{output.model}@{output.model_digest}",
            digest=output.model_digest,
            version=status.version,
            signature_verified=status.verified,
            signers=status.signers,
        ),
        license=output.license,
        terms=terms_of(output),
        first_registered_at=output.registered_at,
        log_index=output.log_index,
        leaf_hash=output.leaf_hash,
        chain=output.chain,
        reprints=[
            ReprintView(
                image_digest=r.image_digest,
                via=r.via,
                reprinter=r.reprinter,
                created_at=r.created_at,
                log_index=r.log_index,
            )
            for r in reprints
        ],
        receipt=await ledger.receipt(output.log_index),
        entry=await ledger.entry(output.log_index),
        evidence=provenance_evidence(output, reprints, status, logged),
    )
