"""Errors of the edge agent, each with a reason code an operator can act on.

Every failure of a pull or a load is an :class:`AgentError` (a
:class:`~verifier.errors.VerificationError`, exit status ``agent``) whose
``check`` is one of these reason codes:

============  ==============================================================
reason        meaning
============  ==============================================================
network       the registry or mirror could not be reached, or answered an error
rollback      TUF metadata older than the trusted copy, or versions that do not
              match what snapshot/timestamp vouch for (mix-and-match)
expired       TUF metadata has expired (a frozen repository), beyond any grace
threshold     TUF metadata signed by fewer distinct keys than its role's threshold
digest        bytes differ from their signed length or hashes (blob, manifest,
              metadata, or a cached file altered on disk)
not-found     no such alias: the signed TUF targets name no ``<repo>/@alias/<alias>``
              (a mistyped alias or repository, or an alias the registry removed)
unsigned      a version or file the alias leads to is not named by the signed TUF
              targets (an alias at a manifest no signed version names)
identity      the model's OMS signature does not verify with a trusted signer
policy        the local trust policy is not satisfied
format        a manifest, signature or model file is malformed
offline       offline, and what is needed is not in the cache
storage       the agent's own state or cache cannot be written
============  ==============================================================
"""

from __future__ import annotations

from typing import ClassVar

from signing.exit_codes import ExitCode
from verifier.errors import MaterialUnreadable, VerificationError

__all__ = ["REASONS", "AgentError", "TrustRootInvalid"]

REASONS = (
    "network",
    "rollback",
    "expired",
    "threshold",
    "digest",
    "not-found",
    "unsigned",
    "identity",
    "policy",
    "format",
    "offline",
    "storage",
)


class AgentError(VerificationError):
    """A pull or load refused; ``check`` is the reason code, one of :data:`REASONS`."""

    check = "agent"
    exit_code: ClassVar[ExitCode] = ExitCode.AGENT

    def __init__(self, reason: str, message: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason code {reason!r}")
        super().__init__(message)
        self.check = reason

    def diagnostics(self) -> str:
        return f"[{self.check}] {self}"


class TrustRootInvalid(MaterialUnreadable):
    """The file given as the agent's trust root is not TUF root metadata (a set-up error)."""

    check = "trust-root"
