"""The errors of the ``verifier`` package.

:class:`VerificationError` is the root: "the thing checked is not trusted".
Each child names the check that failed (``check``) and the exit status the
command line uses for it (``exit_code``), so a failure is always one line that
says which check failed and about which files:

=====  ===================  =============================================
exit   check                meaning
=====  ===================  =============================================
3      input                a signature, key, certificate or policy file
                            cannot be read or parsed (not a trust verdict)
4      bundle               the signature file is not a well-formed OMS bundle
5      signature            the signature does not verify with the trusted key
6      identity             certificate chain or Sigstore identity not trusted
7      integrity            file digests or the file set differ from the signed ones
8      paths                a signed name or link would escape the model directory
9      policy               the trust policy is not satisfied (threshold, namespace)
=====  ===================  =============================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from signing.manifest import ManifestDiff

__all__ = [
    "BundleInvalid",
    "CertificateChainInvalid",
    "EmptyPolicy",
    "IdentityMismatch",
    "IntegrityError",
    "KeyMismatch",
    "MaterialUnreadable",
    "NoPolicyForNamespace",
    "PolicyError",
    "PolicyFileInvalid",
    "SignatureInvalid",
    "ThresholdNotMet",
    "UnsafeModelPath",
    "UntrustedSigner",
    "VerificationError",
]


class VerificationError(Exception):
    """Root of every error raised by ``verifier``: the thing checked is not trusted."""

    check: ClassVar[str] = "verification"
    exit_code: ClassVar[int] = 1

    def diagnostics(self) -> str:
        """A human-readable explanation, for a CLI line or a log."""
        return str(self)


class MaterialUnreadable(VerificationError):
    """A signature, key, certificate or model path cannot be read at all."""

    check = "input"
    exit_code = 3


class PolicyFileInvalid(MaterialUnreadable):
    """A trust policy file does not parse or does not match the schema.

    ``line`` is the 1-based line at fault when it is known.
    """

    check = "policy-file"

    def __init__(self, message: str, *, source: str = "", line: int | None = None) -> None:
        where = source + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.line = line


class BundleInvalid(VerificationError):
    """The signature file is not a well-formed OMS bundle or statement."""

    check = "bundle"
    exit_code = 4


class SignatureInvalid(VerificationError):
    """The signature does not verify with the trusted key."""

    check = "signature"
    exit_code = 5


class KeyMismatch(SignatureInvalid):
    """The bundle names a different key than the one trusted."""


class UntrustedSigner(VerificationError):
    """The signer's certificate or identity is not one the verifier trusts."""

    check = "identity"
    exit_code = 6


class CertificateChainInvalid(UntrustedSigner):
    """The certificate chain does not lead to a trusted root, or breaks a constraint."""


class IdentityMismatch(UntrustedSigner):
    """The certificate is valid but names another subject or issuer."""


class IntegrityError(VerificationError):
    """The model on disk differs from the signed manifest."""

    check = "integrity"
    exit_code = 7

    def __init__(self, message: str, diff: ManifestDiff | None = None) -> None:
        super().__init__(message)
        self.diff = diff or ManifestDiff()


class UnsafeModelPath(VerificationError):
    """A signed name, ignore path or link would reach outside the model directory."""

    check = "paths"
    exit_code = 8


class PolicyError(VerificationError):
    """The trust policy is not satisfied."""

    check = "policy"
    exit_code = 9


class EmptyPolicy(PolicyError):
    """A composite policy with no members: it never passes."""


class NoPolicyForNamespace(PolicyError):
    """No rule of the trust policy covers the namespace."""


class ThresholdNotMet(PolicyError):
    """Fewer distinct trusted signers verified than the threshold asks."""

    def __init__(
        self, message: str, *, required: int, verified: int, reasons: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.required = required
        self.verified = verified
        self.reasons = tuple(reasons)

    def diagnostics(self) -> str:
        if not self.reasons:
            return str(self)
        return f"{self} ({'; '.join(self.reasons)})"
