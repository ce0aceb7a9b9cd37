"""C2PA submissions: Content Credentials validated by :func:`verifier.provenance.c2pa.verify_c2pa`.

The exact uploaded bytes are validated, remote manifest fetching off, against the
hub's trust list (``CUSTODY_C2PA_TRUST_ANCHORS``), ingredients included: a
derivative of a tampered parent validates at the top level and fails only in its
ingredient's results, so the hub refuses it.

A C2PA registration must carry the Custody assertion with its signed output
manifest: a C2PA signature says which certificate signed, but only the output
manifest says which creator the namespace trusts and which model version made
the image. A certificate alone is not an identity the reprint policy knows. The
``latents`` part (the chain back to the model version, attested by nodes) is
required unless the namespace's reprint rule sets ``c2pa_without_latents``;
then the model version is the creator's claim, which the hub still checks
against this registry.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from registry.hub.claims import chain_summary, model_repository
from registry.hub.errors import HubUnavailable, MalformedSubmission, Rejected
from registry.hub.intake import ImagePart
from registry.hub.registration import Claim
from signing.provenance.errors import ProvenanceFormatError
from signing.provenance.statements import LatentStatement, decode_statement, parse_envelope
from verifier.provenance import (
    AuthenticatedChain,
    ProvenanceError,
    ReprintPolicy,
    authenticate_chain,
    verify_output,
)
from verifier.provenance.c2pa import C2paResult, verify_c2pa
from verifier.provenance.errors import (
    C2paInputInvalid,
    C2paManifestMissing,
    EnvelopeMalformed,
)

#: Threads that run C2PA validations while the caller checks the latent chain. The work is
#: CPU-bound native code, so more threads than cores would only queue inside the OS.
_VALIDATORS = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="c2pa")


def _validate(image: ImagePart, anchors: bytes) -> C2paResult:
    if image.data is None:  # pragma: no cover - intake keeps the bytes when no manifest came first
        raise MalformedSubmission("send the 'image' part before any 'manifest' part")
    try:
        return verify_c2pa(image.data, image.media_type, anchors)
    except C2paInputInvalid as exc:
        raise MalformedSubmission(exc.diagnostics(), extra={"reason": exc.reason}) from None
    except ProvenanceError as exc:
        raise Rejected(exc.reason, exc.diagnostics()) from None


def _chain_ahead(latents: list[bytes], policy: ReprintPolicy) -> AuthenticatedChain | None:
    """The chain's signatures checked with the node keys of the namespace its first record
    claims. Unverified, that claim is only a guess: ``verify_output`` uses the result only if
    the namespace the credentials name has the same node keys, and checks again otherwise.
    ``None`` when there is nothing to guess from (the full check then reports why)."""
    try:
        claimed = decode_statement(parse_envelope(latents[0]).payload, LatentStatement)
        nodes = policy.rule_for(claimed.predicate.model.repository).nodes
    except (IndexError, ProvenanceFormatError, ProvenanceError):
        return None
    return authenticate_chain(latents, nodes)


def c2pa_claim(
    image: ImagePart, latents: list[bytes] | None, anchors: bytes | None, policy: ReprintPolicy
) -> Claim:
    """Validate a C2PA-credentialed image and the output manifest its Custody assertion carries.

    Failures are reported in the order of the checks (C2PA, the Custody assertion, then
    ``verify_output``'s), but the work overlaps: c2pa-python validates in native code with
    the GIL released, while this thread hashes the image (GIL released too) and checks the
    chain's signatures (one Ed25519 check per record, holding the GIL), which do not
    depend on the C2PA result. Only the output manifest, which is inside the credentials,
    has to wait for it. ``latents=None``: no chain was sent (see the module's note).
    """
    if anchors is None:
        raise HubUnavailable("C2PA registration is off: CUSTODY_C2PA_TRUST_ANCHORS is not set")
    validating = _VALIDATORS.submit(_validate, image, anchors)
    image_digest = image.digest
    chain = None if latents is None else _chain_ahead(latents, policy)
    result = validating.result()
    custody = result.custody
    if custody is None or custody.output_manifest is None or custody.output_image_digest is None:
        raise Rejected(
            "c2pa-output-manifest-missing",
            "the C2PA manifest carries no Custody assertion with a signed output manifest",
        )
    repository = model_repository(custody.model_reference.rsplit("@", 1)[0])
    try:
        verified = verify_output(
            custody.output_manifest,
            custody.output_image_digest,
            latents if chain is None else chain,
            policy,
            repository.full,
        )
    except EnvelopeMalformed as exc:
        raise MalformedSubmission(exc.diagnostics(), extra={"reason": exc.reason}) from None
    except ProvenanceError as exc:
        raise Rejected(exc.reason, exc.diagnostics()) from None
    summary = chain_summary(verified)
    summary["c2paSigner"] = result.signer_common_name
    summary["renderedImage"] = custody.output_image_digest
    return Claim(
        kind="c2pa",
        image_digest=image_digest,
        claim_digest=verified.manifest_digest,
        namespace=repository.namespace,
        repository=repository.full,
        model_digest=verified.model_manifest_digest,
        creator=verified.creator.claimed_id,
        creator_key_id=verified.creator.key_id,
        license=verified.license,
        terms=list(verified.terms),
        chain=summary,
        image_checked=True,
        ingredients=[a.label for a in result.ancestors],
        c2pa_label=result.active_manifest,
    )


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a credentialed image comes from, nearest first (the image's own manifest, then
    its ``parentOf`` ancestors): each manifest's label and the rendered-image digest its
    Custody assertion names, if any."""

    steps: list[tuple[str, str | None]]

    def rank(self, label: str | None, image_digest: str) -> int | None:
        """How near a registration is (0 = the image itself), ``None`` if not in the lineage."""
        for depth, (step_label, step_digest) in enumerate(self.steps):
            if step_label == label or step_digest == image_digest:
                return depth
        return None


def c2pa_lineage(image: ImagePart, anchors: bytes | None) -> Lineage | None:
    """The validated lineage of a C2PA image; ``None`` if it carries no readable credentials.

    Credentials that are present but fail validation (a tampered ingredient, an
    untrusted signer, a remote manifest) are refused, never ignored.
    """
    if anchors is None or image.data is None:
        return None
    try:
        result = _validate(image, anchors)
    except MalformedSubmission:
        return None
    except Rejected as exc:
        if exc.failed_check == C2paManifestMissing.reason:
            return None
        raise
    own = result.custody.output_image_digest if result.custody is not None else None
    steps = [(result.active_manifest, own)]
    for ancestor in result.ancestors:
        rendered = ancestor.custody.output_image_digest if ancestor.custody is not None else None
        steps.append((ancestor.label, rendered))
    return Lineage(steps)
