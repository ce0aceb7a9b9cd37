"""Verify an output manifest: trusted creator, these image bytes, a verified latent chain."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from signing.provenance.statements import SHA256_DIGEST, OutputStatement
from verifier.provenance._envelopes import Provenanced, authenticate
from verifier.provenance.errors import (
    CreatedInFuture,
    ImageDigestMismatch,
    LatentChainRequired,
    ModelMismatch,
)
from verifier.provenance.latent_chain import (
    AuthenticatedChain,
    VerifiedLatentChain,
    authenticate_chain,
    link_authenticated,
)
from verifier.provenance.reprint_policy import ReprintPolicy

__all__ = ["MAX_CLOCK_SKEW", "CreatorIdentity", "VerifiedOutput", "verify_output"]

MAX_CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future a creation time may lie (clocks of edge nodes drift)."""


@dataclass(frozen=True, slots=True)
class CreatorIdentity:
    """Who signed the output manifest: the policy's name for the key, its id, the claimed id."""

    name: str
    key_id: str
    claimed_id: str


@dataclass(frozen=True, slots=True)
class VerifiedOutput:
    """An output manifest that verified, with its verified latent chain.

    ``model_reference`` is ``repository@sha256:<manifest digest>``: the hub must
    still check that it names a registered, verified model version.
    ``manifest_digest`` is the digest of the signed output statement. ``chain``
    is ``None`` only when the namespace's rule let the chain be left out (C2PA
    credentials without latents): the model is then the creator's claim alone.
    """

    image_digest: str
    manifest_digest: str
    creator: CreatorIdentity
    model_reference: str
    model_manifest_digest: str
    final_latent: str
    created: datetime
    license: str
    terms: tuple[str, ...]
    ingredients: tuple[str, ...]
    chain: VerifiedLatentChain | None


def verify_output(
    envelope: bytes,
    image_digest: str,
    latent_chain: Sequence[bytes] | AuthenticatedChain | None,
    policy: ReprintPolicy,
    namespace: str,
    *,
    now: datetime | None = None,
) -> VerifiedOutput:
    """Verify an output manifest for the image whose SHA-256 is ``image_digest``.

    Checks, in order: a creator trusted for ``namespace`` signed it; its subject
    is ``image_digest``; its creation time is not after ``now`` (default: the
    current time) plus :data:`MAX_CLOCK_SKEW`; the latent chain verifies (see
    :mod:`verifier.provenance.latent_chain`) with the manifest's final latent as
    its head; the manifest and the chain name the same model version. Raises a
    :class:`~verifier.provenance.errors.ProvenanceError` naming the failed check.

    ``latent_chain`` may be the envelopes or the same chain already through
    :func:`~verifier.provenance.authenticate_chain` (its signatures checked ahead,
    e.g. while C2PA validated): that is used as is when it was authenticated with
    the node keys ``namespace``'s rule trusts, and authenticated again otherwise.
    Either way the checks and their order are the same.

    ``latent_chain=None`` (no chain was given) passes only when ``namespace``'s
    rule sets ``c2pa_without_latents``, which the caller uses for a manifest
    that came inside validated C2PA credentials; otherwise it raises
    :class:`~verifier.provenance.errors.LatentChainRequired`. Without a chain
    the final latent and the nodes are unattested.
    """
    rule = policy.rule_for(namespace)
    output = authenticate(envelope, OutputStatement, rule.creators)
    if not re.fullmatch(SHA256_DIGEST, image_digest):
        raise ImageDigestMismatch(f"image digest {image_digest!r} is not 'sha256:<64 hex>'")
    if output.statement.image_digest != image_digest:
        raise ImageDigestMismatch(
            f"the output manifest is for image {output.statement.image_digest}, not {image_digest}"
        )
    predicate = output.statement.predicate
    if predicate.created > (now or datetime.now(UTC)) + MAX_CLOCK_SKEW:
        raise CreatedInFuture(
            f"the output manifest says it was created at {predicate.created.isoformat()}, "
            "in the future"
        )
    if latent_chain is None:
        if not rule.c2pa_without_latents:
            raise LatentChainRequired(
                f"namespace {namespace!r} requires the latent chain with the output manifest "
                "(its reprint policy rule does not set c2pa_without_latents)"
            )
        return _verified(image_digest, output, None)
    if not isinstance(latent_chain, AuthenticatedChain):
        authenticated = authenticate_chain(latent_chain, rule.nodes)
    elif latent_chain.nodes != rule.nodes:  # checked ahead with another rule's keys: redo
        authenticated = authenticate_chain(latent_chain.envelopes, rule.nodes)
    else:
        authenticated = latent_chain
    chain = link_authenticated(authenticated, predicate.final_latent)
    if (chain.model_reference, chain.model_manifest_digest) != (
        predicate.model.reference,
        predicate.model.manifest_digest,
    ):
        raise ModelMismatch(
            f"the output manifest names model {predicate.model.reference}, its latent chain "
            f"{chain.model_reference}"
        )
    return _verified(image_digest, output, chain)


def _verified(
    image_digest: str,
    output: Provenanced[OutputStatement],
    chain: VerifiedLatentChain | None,
) -> VerifiedOutput:
    predicate = output.statement.predicate
    return VerifiedOutput(
        image_digest=image_digest,
        manifest_digest=output.digest,
        creator=CreatorIdentity(output.signer.name, output.signer.key_id, predicate.creator.id),
        model_reference=predicate.model.reference,
        model_manifest_digest=predicate.model.manifest_digest,
        final_latent=predicate.final_latent,
        created=predicate.created,
        license=predicate.license,
        terms=tuple(predicate.terms),
        ingredients=tuple(i.digest for i in predicate.ingredients),
        chain=chain,
    )
