"""The errors of the ``verifier`` package, in two families as in python-tuf.

:class:`VerificationError`: the data is bad, the thing checked is not trusted.
:class:`FetchError`: it could not be fetched (network, HTTP error, no answer).

Each class names the check that failed (``check``, the label of the CLI's
``FAILED [check]`` line) and its exit status (``exit_code``, a member of
:class:`signing.exit_codes.ExitCode`, the one table of statuses; see
``docs/exit-codes.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from signing.exit_codes import ExitCode
from signing.manifest import ManifestDiff

__all__ = [
    "BundleInvalid",
    "CertificateChainInvalid",
    "EmptyPolicy",
    "FetchError",
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
    """Root of the "data is bad" family: the thing checked is not trusted."""

    #: The check that failed; a class attribute, set per instance where it varies.
    check: str = "verification"
    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE

    def diagnostics(self) -> str:
        """A human-readable explanation, for a CLI line or a log."""
        return str(self)


class FetchError(Exception):
    """Root of the "could not fetch" family: unreachable, an HTTP error, no usable answer.

    ``status`` and ``code`` are the HTTP status and the server's error code, when known.
    """

    check: str = "fetch"
    exit_code: ClassVar[ExitCode] = ExitCode.FETCH

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code

    def diagnostics(self) -> str:
        """A human-readable explanation, for a CLI line or a log."""
        return str(self)


class MaterialUnreadable(VerificationError):
    """A signature, key, certificate or model path cannot be read at all."""

    check = "input"
    exit_code = ExitCode.INPUT


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
    exit_code = ExitCode.BUNDLE


class SignatureInvalid(VerificationError):
    """The signature does not verify with the trusted key."""

    check = "signature"
    exit_code = ExitCode.SIGNATURE


class KeyMismatch(SignatureInvalid):
    """The bundle names a different key than the one trusted."""


class UntrustedSigner(VerificationError):
    """The signer's certificate or identity is not one the verifier trusts."""

    check = "identity"
    exit_code = ExitCode.IDENTITY


class CertificateChainInvalid(UntrustedSigner):
    """The certificate chain does not lead to a trusted root, or breaks a constraint."""


class IdentityMismatch(UntrustedSigner):
    """The certificate is valid but names another subject or issuer."""


class IntegrityError(VerificationError):
    """The model on disk differs from the signed manifest."""

    check = "integrity"
    exit_code = ExitCode.INTEGRITY

    def __init__(self, message: str, diff: ManifestDiff | None = None) -> None:
        super().__init__(message)
        self.diff = diff or ManifestDiff()


class UnsafeModelPath(VerificationError):
    """A signed name, ignore path or link would reach outside the model directory."""

    check = "paths"
    exit_code = ExitCode.PATHS


class PolicyError(VerificationError):
    """The trust policy is not satisfied."""

    check = "policy"
    exit_code = ExitCode.POLICY


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
