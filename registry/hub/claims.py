"""From a submission to a verified :class:`~registry.hub.registration.Claim`.

The offline checks live in :mod:`verifier.provenance` (the same code a creator
runs with ``custody output verify``); this module only routes a submission to
them and turns their typed failures into problem details whose ``check`` is the
verifier's stable reason code (``untrusted-node``, ``image-digest-mismatch``...).

The statement is decoded once *before* verification, unverified, for one
purpose: to learn which model (hence which namespace's rules and whose push
right) it claims. Nothing from that decoding is trusted or stored.
"""

from __future__ import annotations

import json
from typing import Any

from registry.errors import NameInvalid
from registry.hub.errors import MalformedSubmission, Rejected
from registry.hub.intake import ImagePart
from registry.hub.registration import Claim
from registry.naming import RepositoryName
from signing.provenance.errors import ProvenanceFormatError
from signing.provenance.statements import OutputStatement, decode_statement, parse_envelope
from verifier.provenance import ProvenanceError, ReprintPolicy, VerifiedOutput, verify_output
from verifier.provenance.errors import EnvelopeMalformed

MAX_CHAIN_RECORDS = 1000


def claimed_model(envelope: bytes) -> RepositoryName:
    """The repository an (unverified) output manifest claims; for routing and authorisation."""
    try:
        statement = decode_statement(parse_envelope(envelope).payload, OutputStatement)
    except ProvenanceFormatError as exc:
        raise MalformedSubmission(f"output manifest: {exc}") from None
    return model_repository(statement.predicate.model.repository)


def model_repository(text: str) -> RepositoryName:
    try:
        return RepositoryName.parse(text)
    except NameInvalid:
        raise Rejected(
            "model", f"model {text!r} is not a repository name of this registry"
        ) from None


def latent_envelopes(data: bytes) -> list[bytes]:
    """The ``latents`` part: a JSON array of DSSE envelopes, root first (any order works)."""
    try:
        document: Any = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise MalformedSubmission(f"the 'latents' part is not JSON: {exc}") from None
    if not isinstance(document, list) or not document:
        raise MalformedSubmission("the 'latents' part must be a non-empty JSON array of envelopes")
    if len(document) > MAX_CHAIN_RECORDS:
        raise MalformedSubmission(f"a latent chain may hold at most {MAX_CHAIN_RECORDS} records")
    return [json.dumps(item, separators=(",", ":")).encode() for item in document]


def manifest_claim(
    envelope: bytes,
    latents: list[bytes],
    image: ImagePart | None,
    policy: ReprintPolicy,
    repository: RepositoryName,
) -> Claim:
    """Verify an output manifest and its chain for these bytes (or, with no bytes, its digest)."""
    if image is not None:
        image_digest = image.digest
    else:
        statement = decode_statement(parse_envelope(envelope).payload, OutputStatement)
        image_digest = statement.image_digest
    try:
        verified = verify_output(envelope, image_digest, latents, policy, repository.full)
    except EnvelopeMalformed as exc:
        raise MalformedSubmission(exc.diagnostics(), extra={"reason": exc.reason}) from None
    except ProvenanceError as exc:
        raise Rejected(exc.reason, exc.diagnostics()) from None
    return Claim(
        kind="manifest",
        image_digest=image_digest,
        claim_digest=verified.manifest_digest,
        namespace=repository.namespace,
        repository=repository.full,
        model_digest=verified.model_manifest_digest,
        creator=verified.creator.claimed_id,
        creator_key_id=verified.creator.key_id,
        license=verified.license,
        terms=list(verified.terms),
        chain=chain_summary(verified),
        image_checked=image is not None,
        ingredients=list(verified.ingredients),
    )


def chain_summary(verified: VerifiedOutput) -> dict[str, Any]:
    """What the attribution view shows of the chain: structure and nodes, no prompt hash.

    Without a chain (C2PA on the creator's word, where the policy allows it) it says so:
    ``records`` is 0 and the final latent is the creator's claim.

    ``recordList`` keeps each record's evidence, root first: its step, its record digest
    (which covers its latent digest), and the node whose signature verified (name and key
    id): about 180 bytes a record. Records are not
    logged one by one: the logged claim binds them through the manifest's final latent.
    Outputs registered before it was kept have no ``recordList``."""
    chain = verified.chain
    if chain is None:
        return {
            "records": 0,
            "finalLatent": verified.final_latent,
            "attestedBy": "creator",
            "creatorKey": verified.creator.name,
        }
    return {
        "root": chain.root,
        "head": chain.head,
        "records": len(chain.records),
        "steps": [chain.steps[0], chain.steps[-1]] if chain.steps else [],
        "sampler": chain.sampler,
        "scheduler": chain.scheduler,
        "guidance": chain.guidance,
        "nodes": sorted({r.node_name for r in chain.records}),
        "recordList": [
            {
                "step": r.step,
                "record": r.record_digest,
                "node": r.node_name,
                "keyId": r.node_key_id,
            }
            for r in chain.records
        ],
        "creatorKey": verified.creator.name,
    }
