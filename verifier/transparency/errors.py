"""Errors of the transparency-log checks, each naming the check that failed.

Two families, as in python-tuf: :class:`LogError` subclasses of
:class:`~verifier.errors.VerificationError` mean "the log answered and what it
said is not trustworthy"; :class:`LogFetchError`, a
:class:`~verifier.errors.FetchError`, means "could not ask the log". Exit
statuses are those of :class:`signing.exit_codes.ExitCode`.
"""

from __future__ import annotations

from signing.exit_codes import ExitCode
from verifier.errors import FetchError, VerificationError

__all__ = [
    "AuditStateInvalid",
    "CheckpointInvalid",
    "CheckpointSignatureInvalid",
    "ConsistencyProofInvalid",
    "InclusionProofInvalid",
    "LogError",
    "LogFetchError",
    "LogRollback",
    "ReceiptInvalid",
    "VerifierKeyInvalid",
]


class LogError(VerificationError):
    """Root of the transparency-log verification failures."""

    check = "log"
    exit_code = ExitCode.CHECKPOINT


class VerifierKeyInvalid(LogError):
    """A verifier key string (``name+keyid+base64``) does not parse or is inconsistent."""

    check = "log-key"
    exit_code = ExitCode.INPUT


class CheckpointInvalid(LogError):
    """A signed note or checkpoint is malformed, or names another log (origin)."""

    check = "checkpoint"


class CheckpointSignatureInvalid(LogError):
    """No signature by the trusted log key verifies over the checkpoint."""

    check = "checkpoint-signature"
    exit_code = ExitCode.CHECKPOINT_SIGNATURE


class InclusionProofInvalid(LogError):
    """An inclusion proof does not lead from the leaf to the checkpoint's root."""

    check = "inclusion"
    exit_code = ExitCode.INCLUSION


class ConsistencyProofInvalid(LogError):
    """A consistency proof does not show the older tree is a prefix of the newer."""

    check = "consistency"
    exit_code = ExitCode.CONSISTENCY


class LogRollback(ConsistencyProofInvalid):
    """The log presented a tree smaller than one already verified, or a fork of it."""

    check = "rollback"


class ReceiptInvalid(LogError):
    """A receipt's fields disagree with its checkpoint or with the entry it covers."""

    check = "receipt"
    exit_code = ExitCode.RECEIPT


class AuditStateInvalid(LogError):
    """The auditor's own state file cannot be read; it is never silently reset."""

    check = "audit-state"
    exit_code = ExitCode.INPUT


class LogFetchError(FetchError):
    """The log could not be asked: network failure, HTTP error status, unparsable answer."""
