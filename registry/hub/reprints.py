"""Reprints: find the original registration, apply its terms, log the reprint, sign attribution.

The original is found by the exact image digest, or, for a C2PA-credentialed
derivative, through its validated ingredient chain (the nearest registered
ancestor wins). A derivative found that way is always judged as a derivative
work, whatever the request says. Refused reprints are not logged: the log
records what happened, and a refusal changes nothing (the refusal is audited,
``hub.reprint.refused``, see :mod:`registry.hub.api`).

A reprint is a public act by a named party (ADR 0012). Any valid Custody API
token may ask for one, whatever its namespace: whether the reprint is allowed is
the creator's terms, not namespace membership. The party is the token: its id and
its namespace are written in the log entry and in the attribution statement
(``reprint.requestedBy``), beside the display name the requester chose
(``reprint.reprinter``, ``custody reprint --as``, not verified). An OCI access
token names no namespace and is refused.

An identical reprint request (same original, image, reprinter, use and
requesting token) is answered from its first record instead of growing the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import audit_row
from registry.auth import Principal
from registry.db.models import HubOutput, HubReprint
from registry.errors import Denied
from registry.hub import queries
from registry.hub.attestation import ATTRIBUTION_TYPE, HubSigner
from registry.hub.errors import ReprintRefused
from registry.hub.ledger import REPRINT, Ledger, Logged, Rows, digest_of_json
from registry.hub.model_status import model_status
from registry.hub.registration import terms_of
from registry.hub.schemas import ReprintRequestBody
from registry.services import Services
from registry.tlog import Withdrawn
from verifier.provenance.reprint_policy import ReprintPolicy
from verifier.provenance.terms import ReprintRequest


@dataclass(frozen=True, slots=True)
class Match:
    """The registration a submitted image leads to, and how."""

    output: HubOutput
    image_digest: str
    via: str  # "exact" or "c2pa"


def use_of(body: ReprintRequestBody, via: str) -> dict[str, bool]:
    return {
        "commercial": body.commercial,
        "derivative": body.derivative or via == "c2pa",
        "attribution": body.attribution,
    }


def check_terms(policy: ReprintPolicy, output: HubOutput, use: dict[str, bool]) -> None:
    decision = policy.decide(
        terms_of(output),
        ReprintRequest(use["commercial"], use["derivative"], use["attribution"]),
    )
    if not decision.allowed:
        term = decision.forbidding_term
        raise ReprintRefused(
            f"reprint of {output.image_digest} refused: {decision.reason}",
            extra={"term": term, "terms": terms_of(output)},
        )


def requester_of(principal: Principal) -> dict[str, str]:
    """The party a reprint is recorded for: the API token's id and namespace.

    Raises :class:`~registry.errors.Denied` for a credential that names no party
    (an OCI access token carries repository grants, not a namespace).
    """
    if principal.token_id is None or principal.namespace is None or principal.grants is not None:
        raise Denied(
            "a reprint is recorded in the name of a Custody API token (its id and namespace): "
            "send an API token, not an OCI access token",
            extra={"check": "requester"},
        )
    return {"tokenId": principal.token_id, "namespace": principal.namespace}


async def record_reprint(
    session: AsyncSession,
    ledger: Ledger,
    principal: Principal,
    match: Match,
    reprinter: str,
    use: dict[str, bool],
) -> tuple[HubReprint, Logged | None]:
    """Log the reprint and record it in one transaction; returns the record and its new log
    entry. The same request again (same image, reprinter, use and token) returns the earlier
    record and ``None``, and logs nothing."""
    output = match.output
    requester = requester_of(principal)
    made: list[HubReprint] = []

    def rows(writing: Connection, logged: Logged) -> Rows:
        earlier = queries.earlier_reprints(
            writing,
            output_id=output.id,
            image_digest=match.image_digest,
            reprinter=reprinter,
            requested_by=principal.actor,
        )
        for reprint_id, earlier_use in earlier:
            if earlier_use == use:
                return Withdrawn(reprint_id)
        values = {
            "output_id": output.id,
            "image_digest": match.image_digest,
            "via": match.via,
            "reprinter": reprinter,
            "use": use,
            "requested_by": principal.actor,
            "created_at": logged.integrated_time,
            "log_index": logged.index,
            "leaf_hash": logged.leaf_hash,
        }
        made[:] = [HubReprint(**values)]  # what the answer shows; a retried batch calls again
        audit = audit_row(
            actor=principal.actor,
            action="hub.reprint",
            subject=f"image:{match.image_digest}",
            namespace=output.namespace,
            detail={"original": output.image_digest, "logIndex": logged.index, "via": match.via},
        )
        return [(queries.REPRINTS, values), audit]

    outcome = await ledger.append(
        REPRINT,
        {
            "image": match.image_digest,
            "original": output.image_digest,
            "originalLogIndex": output.log_index,
            "via": match.via,
            "reprinter": reprinter,
            "requestedBy": requester,
            "use": digest_of_json(use),
        },
        rows,
    )
    if isinstance(outcome, Withdrawn):
        earlier = await queries.reprint(session, outcome.value)
        if earlier is None:  # pragma: no cover - rows are never deleted
            raise AssertionError(f"reprint {outcome.value} was recorded but is not found")
        return earlier, None
    return made[0], outcome


async def attribution_statement(
    session: AsyncSession,
    services: Services,
    signer: HubSigner,
    output: HubOutput,
    reprint: HubReprint,
    principal: Principal,
) -> dict[str, Any]:
    """The hub-signed statement naming the original creator, model, licence and log entries,
    and who reprints: the requesting token (``requestedBy``) beside its display name."""
    status = await model_status(session, services, output.model, output.model_digest)
    predicate = {
        "original": {
            "imageDigest": output.image_digest,
            "kind": output.kind,
            "registeredAt": output.registered_at.isoformat(),
            "logIndex": output.log_index,
            "leafHash": output.leaf_hash,
        },
        "creator": output.creator,
        "model": {
            "reference": f"{output.model}@{output.model_digest}",
            "signatureVerified": status.verified,
            # "nodes": a latent chain signed by trusted nodes leads to the model; "creator":
            # the creator's word alone (C2PA without the chain, where the namespace allows).
            "attestedBy": output.chain.get("attestedBy", "nodes"),
        },
        "license": output.license,
        "terms": terms_of(output),
        "reprint": {
            # The display name the requester gave (not verified) and the party accountable:
            # the API token that asked (the same token for a repeated request).
            "reprinter": reprint.reprinter,
            "requestedBy": requester_of(principal),
            "via": reprint.via,
            "use": reprint.use,
            "at": reprint.created_at.isoformat(),
            "logIndex": reprint.log_index,
            "leafHash": reprint.leaf_hash,
        },
    }
    return signer.sign(reprint.image_digest, predicate)


__all__ = [
    "ATTRIBUTION_TYPE",
    "Match",
    "attribution_statement",
    "check_terms",
    "record_reprint",
    "requester_of",
    "use_of",
]
