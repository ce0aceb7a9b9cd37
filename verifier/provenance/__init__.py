"""Offline checks of generated-image provenance: output manifests, latent chains, C2PA, reprints.

Pure functions the reprint hub (``registry/hub``) calls; no I/O but the policy
file. Every failure raises a :class:`~verifier.provenance.errors.ProvenanceError`
child that names its check and carries a stable ``reason`` code.

Example::

    >>> from signing import KeySigner, generate_private_key, key_id
    >>> from signing.provenance import (LatentRecorder, image_digest, prompt_hash,
    ...     sign_output_manifest)
    >>> from verifier.provenance import (STANDARD_TERMS, ReprintPolicy, ReprintRequest,
    ...     ReprintRule, TrustedIdentity, verify_output)
    >>> node = KeySigner(generate_private_key("ed25519"))
    >>> trusted = TrustedIdentity("edge", node.public_key, key_id(node.public_key))
    >>> policy = ReprintPolicy((ReprintRule("acme/**", (trusted,), (trusted,), 1),),
    ...     STANDARD_TERMS)
    >>> model = "acme/sd@sha256:" + "ab" * 32
    >>> recorder = LatentRecorder(node, model_reference=model, sampler="euler",
    ...     scheduler="karras", seed=1, guidance=7.0,
    ...     prompt_hash=prompt_hash("fox", bytes(32)), node_id="edge")
    >>> _ = recorder.record(bytes(16), "float32", (2, 2), 0)
    >>> png = b"image bytes"
    >>> manifest = sign_output_manifest(node, image_digest=image_digest(png),
    ...     model_reference=model, final_latent=recorder.head, creator_id="alice",
    ...     license="CC-BY-4.0", terms=["attribution"])
    >>> verified = verify_output(manifest, image_digest(png), recorder.chain, policy, "acme/art")
    >>> verified.model_reference == model, verified.chain.steps
    (True, (0,))
    >>> policy.decide(verified.terms, ReprintRequest(commercial=True, derivative=False,
    ...     attribution=False)).forbidding_term
    'attribution'
"""

from verifier.provenance.c2pa import verify_c2pa
from verifier.provenance.errors import (
    BrokenParentLink,
    CreatedInFuture,
    EnvelopeMalformed,
    FinalLatentMismatch,
    IdentityClaimMismatch,
    ImageDigestMismatch,
    LatentChainInconsistent,
    LatentChainLoop,
    LatentChainRequired,
    MissingLatentRoot,
    ModelMismatch,
    NoReprintRule,
    ProvenanceError,
    ProvenanceSignatureInvalid,
    ReprintPolicyInvalid,
    UntrustedCreator,
    UntrustedNode,
)
from verifier.provenance.latent_chain import (
    AuthenticatedChain,
    authenticate_chain,
    link_chain,
    verify_latent_chain,
)
from verifier.provenance.output import VerifiedOutput, verify_output
from verifier.provenance.reprint_policy import (
    ReprintPolicy,
    ReprintRule,
    TrustedIdentity,
    load_reprint_policy,
    parse_reprint_policy,
)
from verifier.provenance.terms import STANDARD_TERMS, ReprintRequest, TermRule, decide_reprint

__all__ = [
    "STANDARD_TERMS",
    "AuthenticatedChain",
    "BrokenParentLink",
    "CreatedInFuture",
    "EnvelopeMalformed",
    "FinalLatentMismatch",
    "IdentityClaimMismatch",
    "ImageDigestMismatch",
    "LatentChainInconsistent",
    "LatentChainLoop",
    "LatentChainRequired",
    "MissingLatentRoot",
    "ModelMismatch",
    "NoReprintRule",
    "ProvenanceError",
    "ProvenanceSignatureInvalid",
    "ReprintPolicy",
    "ReprintPolicyInvalid",
    "ReprintRequest",
    "ReprintRule",
    "TermRule",
    "TrustedIdentity",
    "UntrustedCreator",
    "UntrustedNode",
    "VerifiedOutput",
    "authenticate_chain",
    "decide_reprint",
    "link_chain",
    "load_reprint_policy",
    "parse_reprint_policy",
    "verify_c2pa",
    "verify_latent_chain",
    "verify_output",
]
