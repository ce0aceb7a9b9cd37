"""Typed failures of provenance verification, one per check.

Every error is a :class:`ProvenanceError` (a :class:`~verifier.errors.VerificationError`,
one base each) with a ``check`` (the CLI's ``FAILED [check]``), an ``exit_code`` from
:class:`signing.exit_codes.ExitCode`, and a stable ``reason`` code the hub puts in its
RFC 9457 problem documents:

==============================  ==========  =============================================
reason                          exit        meaning
==============================  ==========  =============================================
envelope-malformed              bundle      not a DSSE envelope over a valid statement
signature-invalid               signature   the keyid names a trusted key, the signature fails
untrusted-creator               identity    no trusted creator key signed the output manifest
untrusted-node                  identity    no trusted node key signed a latent record
identity-mismatch               identity    the statement claims another key or identity
image-digest-mismatch           integrity   the manifest's subject is not these image bytes
broken-parent-link              integrity   a record's parent is not in the chain, or a fork
latent-chain-loop               integrity   following parents comes back to a record
missing-latent-root             integrity   no record of the chain is a root (parent null)
latent-chain-inconsistent       integrity   model, seed, sampler... differ, or steps do not increase
final-latent-mismatch           integrity   the manifest's final latent is not the chain's head
model-mismatch                  integrity   the manifest and the chain name other model versions
created-in-future               integrity   the manifest's creation time is after now (+5 min skew)
latent-chain-required           policy      the namespace's rule requires a latent chain
no-reprint-rule                 policy      the reprint policy covers no such namespace
reprint-policy-invalid          input       the reprint policy file does not parse
c2pa-input-invalid              input       not the PNG/JPEG claimed, unparseable, no trust anchor
c2pa-manifest-missing           bundle      no C2PA manifest in the image
c2pa-remote-manifest            bundle      the manifest is remote: fetching it is refused
c2pa-custody-assertion-invalid  bundle      the Custody assertion is malformed or inconsistent
c2pa-untrusted-signer           identity    intact manifest, signer not on the trust list
c2pa-invalid                    integrity   C2PA validation failures (``codes``)
c2pa-ingredient-invalid         integrity   an ingredient failed validation (``codes``)
==============================  ==========  =============================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from signing.exit_codes import ExitCode
from verifier.errors import VerificationError

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


class EnvelopeMalformed(ProvenanceError):
    """Not a DSSE envelope over a valid Custody statement of the expected kind."""

    check = "bundle"
    exit_code = ExitCode.BUNDLE
    reason = "envelope-malformed"


class ProvenanceSignatureInvalid(ProvenanceError):
    """The envelope names a trusted key, but its signature does not verify."""

    check = "signature"
    exit_code = ExitCode.SIGNATURE
    reason = "signature-invalid"


class _Untrusted(ProvenanceError):
    check = "identity"
    exit_code = ExitCode.IDENTITY


class UntrustedCreator(_Untrusted):
    """No key the reprint policy trusts as a creator signed the output manifest."""

    reason = "untrusted-creator"


class UntrustedNode(_Untrusted):
    """No key the reprint policy trusts as a node signed a latent record."""

    reason = "untrusted-node"


class IdentityClaimMismatch(_Untrusted):
    """The statement claims a key or identity other than the one that verified."""

    reason = "identity-mismatch"


class _ChainIntegrity(ProvenanceError):
    check = "integrity"
    exit_code = ExitCode.INTEGRITY


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


class LatentChainRequired(ProvenanceError):
    """No latent chain came with the output manifest, and the namespace's rule requires one."""

    check = "policy"
    exit_code = ExitCode.POLICY
    reason = "latent-chain-required"


class NoReprintRule(ProvenanceError):
    """No rule of the reprint policy covers the namespace."""

    check = "policy"
    exit_code = ExitCode.POLICY
    reason = "no-reprint-rule"


class ReprintPolicyInvalid(ProvenanceError):
    """The reprint policy file does not parse or does not match its schema.

    ``line`` is the 1-based line at fault when it is known.
    """

    check = "policy-file"
    exit_code = ExitCode.INPUT
    reason = "reprint-policy-invalid"

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        where = source + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line


class C2paInputInvalid(ProvenanceError):
    """The image is not the PNG/JPEG its type says, cannot be parsed, or no trust anchor is set."""

    check = "c2pa"
    exit_code = ExitCode.INPUT
    reason = "c2pa-input-invalid"


class C2paManifestMissing(ProvenanceError):
    """The image carries no C2PA manifest."""

    check = "c2pa"
    exit_code = ExitCode.BUNDLE
    reason = "c2pa-manifest-missing"


class C2paRemoteManifest(ProvenanceError):
    """The manifest is not embedded: reading it would need a remote fetch, which is refused."""

    check = "c2pa"
    exit_code = ExitCode.BUNDLE
    reason = "c2pa-remote-manifest"


class C2paValidationFailed(ProvenanceError):
    """C2PA validation reported failures; ``codes`` are the C2PA status codes, ``result`` all."""

    check = "c2pa"
    exit_code = ExitCode.INTEGRITY
    reason = "c2pa-invalid"

    def __init__(self, message: str, *, codes: Sequence[str], result: object) -> None:
        super().__init__(message)
        self.codes = tuple(codes)
        self.result = result


class C2paUntrustedSigner(C2paValidationFailed):
    """The manifest is intact, but its signing certificate is not on the trust list."""

    exit_code = ExitCode.IDENTITY
    reason = "c2pa-untrusted-signer"


class C2paIngredientInvalid(C2paValidationFailed):
    """An ingredient (a parent image) failed validation, though the top level passed."""

    reason = "c2pa-ingredient-invalid"


class C2paAssertionInvalid(ProvenanceError):
    """The Custody assertion is present but malformed, or disagrees with its output manifest."""

    check = "c2pa"
    exit_code = ExitCode.BUNDLE
    reason = "c2pa-custody-assertion-invalid"
