"""Typed failures of provenance verification, one per check.

Every error is a :class:`~verifier.errors.VerificationError` with a ``check``
(the CLI's ``FAILED [check]``), an ``exit_code`` from the verifier's table, and
a stable ``reason`` code the hub can put in an RFC 9457 problem document:

==============================  ====  =============================================
reason                          exit  meaning
==============================  ====  =============================================
envelope-malformed              4     not a DSSE envelope over a valid statement
signature-invalid               5     the keyid names a trusted key, the signature fails
untrusted-creator               6     no trusted creator key signed the output manifest
untrusted-node                  6     no trusted node key signed a latent record
identity-mismatch               6     the statement claims another key or identity
image-digest-mismatch           7     the manifest's subject is not these image bytes
broken-parent-link              7     a record's parent is not in the chain, or a fork
latent-chain-loop               7     following parents comes back to a record
missing-latent-root             7     no record of the chain is a root (parent null)
latent-chain-inconsistent       7     model, seed, sampler... differ, or steps do not increase
final-latent-mismatch           7     the manifest's final latent is not the chain's head
model-mismatch                  7     the manifest and the chain name other model versions
created-in-future               7     the manifest's creation time is after now (+5 min skew)
no-reprint-rule                 9     the reprint policy covers no such namespace
c2pa-input-invalid              3     not the PNG/JPEG claimed, unparseable, no trust anchor
c2pa-manifest-missing           4     no C2PA manifest in the image
c2pa-remote-manifest            4     the manifest is remote: fetching it is refused
c2pa-custody-assertion-invalid  4     the Custody assertion is malformed or inconsistent
c2pa-untrusted-signer           6     intact manifest, signer not on the trust list
c2pa-invalid                    7     C2PA validation failures (``codes``)
c2pa-ingredient-invalid         7     an ingredient failed validation (``codes``)
==============================  ====  =============================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from verifier.errors import (
    BundleInvalid,
    IntegrityError,
    NoPolicyForNamespace,
    PolicyError,
    PolicyFileInvalid,
    SignatureInvalid,
    UntrustedSigner,
    VerificationError,
)

__all__ = [
    "BrokenParentLink",
    "C2paAssertionInvalid",
    "C2paIngredientInvalid",
    "C2paInputInvalid",
    "C2paManifestMissing",
    "C2paRemoteManifest",
    "C2paUntrustedSigner",
    "C2paValidationFailed",
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
    "ReprintPolicyInvalid",
    "UntrustedCreator",
    "UntrustedNode",
]


class ProvenanceError(VerificationError):
    """Root of the provenance failures; ``reason`` is a stable machine-readable code."""

    reason: ClassVar[str] = "provenance-invalid"


class EnvelopeMalformed(ProvenanceError, BundleInvalid):
    """Not a DSSE envelope over a valid Custody statement of the expected kind."""

    reason = "envelope-malformed"


class ProvenanceSignatureInvalid(ProvenanceError, SignatureInvalid):
    """The envelope names a trusted key, but its signature does not verify."""

    reason = "signature-invalid"


class UntrustedCreator(ProvenanceError, UntrustedSigner):
    """No key the reprint policy trusts as a creator signed the output manifest."""

    reason = "untrusted-creator"


class UntrustedNode(ProvenanceError, UntrustedSigner):
    """No key the reprint policy trusts as a node signed a latent record."""

    reason = "untrusted-node"


class IdentityClaimMismatch(ProvenanceError, UntrustedSigner):
    """The statement claims a key or identity other than the one that verified."""

    reason = "identity-mismatch"


class _ChainIntegrity(ProvenanceError, IntegrityError):
    def __init__(self, message: str) -> None:
        IntegrityError.__init__(self, message)


class ImageDigestMismatch(_ChainIntegrity):
    """The output manifest's subject is not the SHA-256 of the image given."""

    reason = "image-digest-mismatch"


class BrokenParentLink(_ChainIntegrity):
    """A record names a parent the chain does not hold, two records share a parent,
    or a record is not on the path from the head to the root."""

    reason = "broken-parent-link"


class LatentChainLoop(_ChainIntegrity):
    """Following parent links comes back to a record already visited."""

    reason = "latent-chain-loop"


class MissingLatentRoot(_ChainIntegrity):
    """The chain is empty, or none of its records is a root (``parent: null``)."""

    reason = "missing-latent-root"


class LatentChainInconsistent(_ChainIntegrity):
    """Records of one chain disagree on a fixed parameter, or steps do not increase.

    ``field`` names the parameter that differs.
    """

    reason = "latent-chain-inconsistent"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class FinalLatentMismatch(_ChainIntegrity):
    """The output manifest's final latent record is not the head of the chain given."""

    reason = "final-latent-mismatch"


class CreatedInFuture(_ChainIntegrity):
    """The output manifest says it was created later than now (beyond the allowed clock skew)."""

    reason = "created-in-future"


class ModelMismatch(_ChainIntegrity):
    """The output manifest names another model version than its latent chain."""

    reason = "model-mismatch"


class LatentChainRequired(ProvenanceError, PolicyError):
    """No latent chain came with the output manifest, and the namespace's rule requires one."""

    reason = "latent-chain-required"


class NoReprintRule(ProvenanceError, NoPolicyForNamespace):
    """No rule of the reprint policy covers the namespace."""

    reason = "no-reprint-rule"


class ReprintPolicyInvalid(ProvenanceError, PolicyFileInvalid):
    """The reprint policy file does not parse or does not match its schema."""

    reason = "reprint-policy-invalid"


class C2paInputInvalid(ProvenanceError):
    """The image is not the PNG/JPEG its type says, cannot be parsed, or no trust anchor is set."""

    check = "c2pa"
    exit_code = 3
    reason = "c2pa-input-invalid"


class C2paManifestMissing(ProvenanceError):
    """The image carries no C2PA manifest."""

    check = "c2pa"
    exit_code = 4
    reason = "c2pa-manifest-missing"


class C2paRemoteManifest(ProvenanceError):
    """The manifest is not embedded: reading it would need a remote fetch, which is refused."""

    check = "c2pa"
    exit_code = 4
    reason = "c2pa-remote-manifest"


class C2paValidationFailed(ProvenanceError):
    """C2PA validation reported failures; ``codes`` are the C2PA status codes, ``result`` all."""

    check = "c2pa"
    exit_code = 7
    reason = "c2pa-invalid"

    def __init__(self, message: str, *, codes: Sequence[str], result: object) -> None:
        super().__init__(message)
        self.codes = tuple(codes)
        self.result = result


class C2paUntrustedSigner(C2paValidationFailed):
    """The manifest is intact, but its signing certificate is not on the trust list."""

    exit_code = 6
    reason = "c2pa-untrusted-signer"


class C2paIngredientInvalid(C2paValidationFailed):
    """An ingredient (a parent image) failed validation, though the top level passed."""

    reason = "c2pa-ingredient-invalid"


class C2paAssertionInvalid(ProvenanceError):
    """The Custody assertion is present but malformed, or disagrees with its output manifest."""

    check = "c2pa"
    exit_code = 4
    reason = "c2pa-custody-assertion-invalid"
