"""Composable trust policies over the signatures of one model.

A policy has one method, ``verify(evidence) -> None``, which raises a
:class:`~verifier.errors.VerificationError` when the policy does not hold.
The :class:`Evidence` is the model directory plus its signature bundles; it
authenticates a bundle against a trusted signer and checks the model's
integrity against a signed manifest, caching both so composite policies never
hash a model twice.

* :class:`Threshold` - at least ``k`` **distinct** trusted signers have a valid
  signature over this exact model. Two signatures that share a key, or a
  subject under the same issuer, count once (:func:`group_by_signer`, the one
  definition of "the same signer", which the registry's alias rules use too).
  It asks its evidence which signatures its signers verified
  (:class:`SignatureEvidence`): :class:`Evidence` checks bundles against the model
  on disk, the registry answers from its stored verdicts.
* :class:`AllOf` / :class:`AnyOf` - conjunction / disjunction. Both fail when
  empty: an empty ``AllOf`` would otherwise accept anything.
* :class:`Audit` - evaluates its policy, records and logs a failure instead
  of raising (policy level ``audit``).

Rules:

1. A signature counts only if it verifies against a trusted signer *and* its
   manifest matches the files on disk.
2. Signatures are counted once per signer, however many bundles or policy
   entries name it.
3. Accepted signatures are recorded on the evidence only when the policy that
   examined them holds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from signing.hashing import HashOptions
from signing.manifest import Manifest
from signing.oms import Bundle
from verifier._integrity import check_integrity
from verifier.errors import (
    BundleInvalid,
    EmptyPolicy,
    IntegrityError,
    KeyMismatch,
    PolicyError,
    ThresholdNotMet,
    UnsafeModelPath,
    VerificationError,
)
from verifier.trust import Authenticated, SignerIdentity, TrustedSigner

__all__ = [
    "AllOf",
    "AnyOf",
    "Audit",
    "Evidence",
    "LoadedBundle",
    "Policy",
    "SignatureEvidence",
    "Threshold",
    "VerifiedSignature",
    "count_distinct_signers",
    "group_by_signer",
]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedBundle:
    """A parsed bundle and where it came from (for messages)."""

    source: str
    bundle: Bundle


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature that verified and whose manifest matches the model."""

    source: str
    identity: SignerIdentity
    manifest: Manifest

    @property
    def principals(self) -> frozenset[str]:
        return self.identity.principals()


class Evidence:
    """The model and its signatures, with cached authentication and integrity results."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        bundles: Sequence[LoadedBundle],
        *,
        ignore: Sequence[str] = (),
        ignore_unsigned_files: bool = False,
        options: HashOptions | None = None,
    ) -> None:
        self.model_path = model_path
        self.bundles = tuple(bundles)
        self.ignore = tuple(ignore)
        self.ignore_unsigned_files = ignore_unsigned_files
        self.options = options
        self.accepted: list[VerifiedSignature] = []
        self.findings: list[str] = []
        self._auth: dict[tuple[int, int], Authenticated | VerificationError] = {}
        self._integrity: dict[tuple[object, ...], VerificationError | None] = {}

    def authenticate(self, index: int, signer: TrustedSigner) -> Authenticated:
        """Bundle ``index`` as verified by ``signer``; raises (and caches) the failure."""
        key = (index, id(signer))
        if key not in self._auth:
            try:
                self._auth[key] = signer.authenticate(self.bundles[index].bundle)
            except VerificationError as exc:
                self._auth[key] = exc
        result = self._auth[key]
        if isinstance(result, VerificationError):
            raise result
        return result

    def check_integrity(self, manifest: Manifest) -> None:
        """Raise unless the model on disk matches ``manifest``; each manifest is checked once."""
        key = (manifest.serialization, tuple(manifest.resources))
        if key not in self._integrity:
            try:
                check_integrity(
                    self.model_path,
                    manifest,
                    ignore=self.ignore,
                    ignore_unsigned_files=self.ignore_unsigned_files,
                    options=self.options,
                )
                self._integrity[key] = None
            except VerificationError as exc:
                self._integrity[key] = exc
        failure = self._integrity[key]
        if failure is not None:
            raise failure

    def verified_by(
        self, signers: Sequence[TrustedSigner]
    ) -> tuple[list[VerifiedSignature], list[str]]:
        """The bundles one of ``signers`` signed over this model, and why each other one failed."""
        accepted: list[VerifiedSignature] = []
        reasons: list[str] = []
        for index, loaded in enumerate(self.bundles):
            best: VerificationError | None = None
            for signer in signers:
                try:
                    authenticated = self.authenticate(index, signer)
                    self.check_integrity(authenticated.manifest)
                except VerificationError as exc:
                    if best is None or _rank(exc) > _rank(best):
                        best = exc
                    continue
                accepted.append(
                    VerifiedSignature(loaded.source, authenticated.identity, authenticated.manifest)
                )
                best = None
                break
            if best is not None:
                reasons.append(f"{loaded.source}: [{best.check}] {best.diagnostics()}")
        return accepted, reasons

    def record(self, signatures: Sequence[VerifiedSignature]) -> None:
        """Remember signatures a holding policy accepted (no duplicates)."""
        for signature in signatures:
            if signature not in self.accepted:
                self.accepted.append(signature)


class _Counted(Protocol):
    @property
    def principals(self) -> Collection[str]: ...


SignatureT = TypeVar("SignatureT", bound=_Counted)
ItemT = TypeVar("ItemT")


class SignatureEvidence(Protocol[SignatureT]):
    """Where a :class:`Threshold` finds the signatures its signers made."""

    def verified_by(self, signers: Sequence[TrustedSigner]) -> tuple[list[SignatureT], list[str]]:
        """The signatures one of ``signers`` made that hold, and why the others do not count."""
        ...

    def record(self, signatures: Sequence[SignatureT]) -> None:
        """Called with the counted signatures when the threshold holds."""
        ...


class Policy(Protocol):
    """Anything with ``verify(evidence) -> None`` that raises when it does not hold."""

    def verify(self, evidence: Evidence) -> None:
        """Raise a :class:`~verifier.errors.VerificationError` unless the policy holds."""
        ...


def group_by_signer(
    items: Iterable[ItemT], principals: Callable[[ItemT], Iterable[str]]
) -> list[list[ItemT]]:
    """Group ``items`` into signers: items sharing any principal, even through others, are one.

    An item without principals is a signer of its own. A group that absorbs
    others moves last and starts with the item that joined them.
    """
    groups: list[tuple[set[str], list[ItemT]]] = []
    for item in items:
        joined = (set(principals(item)), [item])
        merged = [group for group in groups if group[0] & joined[0]]
        for group in merged:
            joined[0].update(group[0])
            joined[1].extend(group[1])
        groups = [group for group in groups if not any(group is m for m in merged)]
        groups.append(joined)
    return [members for _, members in groups]


def count_distinct_signers(identities: Sequence[SignerIdentity]) -> int:
    """Number of distinct signers: identities sharing any principal are merged."""
    return len(group_by_signer(identities, SignerIdentity.principals))


# Higher is more telling when several signers all reject one bundle.
_RANK: dict[type[VerificationError], int] = {
    KeyMismatch: 0,
    BundleInvalid: 3,
    IntegrityError: 5,
    UnsafeModelPath: 6,
}


def _rank(error: VerificationError) -> int:
    for cls in type(error).__mro__:
        if cls in _RANK:
            return _RANK[cls]
    return 2


class Threshold:
    """At least ``k`` distinct signers among ``signers`` signed this exact model."""

    def __init__(self, k: int, signers: Sequence[TrustedSigner], *, name: str = "") -> None:
        if k < 1:
            raise ValueError("a threshold must be at least 1")
        self.k = k
        self.signers = tuple(signers)
        self.name = name or f"{k} of {len(self.signers)} trusted signers"

    def verify(self, evidence: SignatureEvidence[SignatureT]) -> None:
        if not self.signers:
            raise EmptyPolicy(f"{self.name}: no trusted signers")
        accepted, reasons = evidence.verified_by(self.signers)
        distinct = len(group_by_signer(accepted, lambda signature: signature.principals))
        if distinct < self.k:
            raise ThresholdNotMet(
                f"{self.name}: {distinct} distinct trusted signer(s) verified, {self.k} required",
                required=self.k,
                verified=distinct,
                reasons=reasons,
            )
        evidence.record(accepted)


class AllOf:
    """Every member policy holds. An empty ``AllOf`` fails."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.policies = tuple(policies)

    def verify(self, evidence: Evidence) -> None:
        if not self.policies:
            raise EmptyPolicy("AllOf with no policies never holds")
        for policy in self.policies:
            policy.verify(evidence)


class AnyOf:
    """At least one member policy holds. An empty ``AnyOf`` fails."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.policies = tuple(policies)

    def verify(self, evidence: Evidence) -> None:
        if not self.policies:
            raise EmptyPolicy("AnyOf with no policies never holds")
        failures: list[str] = []
        for policy in self.policies:
            try:
                policy.verify(evidence)
            except VerificationError as exc:
                failures.append(f"[{exc.check}] {exc.diagnostics()}")
                continue
            return
        raise PolicyError(f"none of {len(self.policies)} policies holds: " + " | ".join(failures))


class Audit:
    """Evaluate ``policy`` but only record and log a failure (policy level ``audit``)."""

    def __init__(self, policy: Policy, *, label: str = "") -> None:
        self.policy = policy
        self.label = label

    def verify(self, evidence: Evidence) -> None:
        try:
            self.policy.verify(evidence)
        except VerificationError as exc:
            prefix = f"{self.label}: " if self.label else ""
            finding = f"audit: {prefix}[{exc.check}] {exc.diagnostics()}"
            evidence.findings.append(finding)
            _logger.warning("%s", finding)
