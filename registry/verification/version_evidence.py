"""What the registry knows of a version an alias would point at, read by the alias's policies.

An alias rule (:class:`~registry.admission_policy.AliasRequirement`) composes
policy objects over a :class:`VersionEvidence`: the trust rule's
:class:`~verifier.signature_policies.Threshold` over the stored signature
verdicts (:class:`SignaturesRequired`), and the SBOM and licence policies of the
admission language over the licences of its SBOM. Distinct signers are grouped
by :func:`~verifier.signature_policies.group_by_signer`, as on an edge verifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from registry.db.models import SignatureVerification
from verifier.errors import PolicyError, VerificationError
from verifier.signature_policies import Threshold, group_by_signer
from verifier.trust import TrustedSigner

__all__ = ["CountedVerdict", "SignaturesRequired", "VersionEvidence"]


@dataclass(frozen=True, slots=True)
class CountedVerdict:
    """A stored verdict that counts towards a threshold."""

    row: SignatureVerification

    @property
    def principals(self) -> tuple[str, ...]:
        return tuple(self.row.principals)


class VersionEvidence:
    """A version's current signature verdicts and its SBOM licences (``None``: no SBOM).

    ``among`` is the alias rule's ``signers``: only verdicts trusted as one of
    these names count. What did not count is kept in ``notes``.
    """

    def __init__(
        self,
        verdicts: Sequence[SignatureVerification],
        licenses: Sequence[str] | None,
        *,
        among: tuple[str, ...] | None = None,
    ) -> None:
        self.verdicts = tuple(verdicts)
        self._licenses = licenses
        self.among = among
        self.counted: list[CountedVerdict] = []
        self.notes: list[str] = []

    @property
    def licenses(self) -> Sequence[str] | None:
        return self._licenses

    def verified_by(
        self, signers: Sequence[TrustedSigner]
    ) -> tuple[list[CountedVerdict], list[str]]:
        """The verified verdicts trusted as one of ``signers`` (and ``among``), with notes."""
        names = {signer.name for signer in signers}
        counted: list[CountedVerdict] = []
        notes: list[str] = []
        for row in self.verdicts:
            trusted_as = row.trusted_as or ""
            if row.outcome != "verified":
                notes.append(
                    f"signature {row.bundle_digest} not counted: [{row.failed_check}] {row.reason}"
                )
            elif trusted_as in names and (self.among is None or trusted_as in self.among):
                counted.append(CountedVerdict(row))
            else:
                notes.append(
                    f"signature by {row.signer} not counted: {row.trusted_as!r} is not among "
                    f"{list(self.among or ())}"
                )
        self.counted, self.notes = counted, notes
        return counted, notes

    def record(self, signatures: Sequence[CountedVerdict]) -> None:
        """Nothing to keep: :meth:`signer_names` reads what was counted."""

    def signer_names(self) -> list[str]:
        """One name per distinct signer among the counted verdicts."""
        groups = group_by_signer(self.counted, lambda verdict: verdict.principals)
        return [group[0].row.signer or "?" for group in groups]


@dataclass(frozen=True, slots=True)
class SignaturesRequired:
    """An alias rule's ``signatures``: the trust rule's threshold, phrased for the alias."""

    alias: str
    needed: int
    signers: tuple[TrustedSigner, ...]

    def verify(self, evidence: VersionEvidence) -> None:
        try:
            Threshold(self.needed, self.signers).verify(evidence)
        except VerificationError:
            verified = evidence.signer_names()
            among = f" among {list(evidence.among)}" if evidence.among else ""
            raise PolicyError(
                f"alias {self.alias!r} needs {self.needed} distinct trusted signer(s){among}; "
                f"{len(verified)} verified" + (f" ({', '.join(verified)})" if verified else "")
            ) from None
