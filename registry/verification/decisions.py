"""Policy decisions: may this version be pushed, may this alias point at it, may it be served.

All three read the policies in force once (:class:`~registry.policies_in_force.PolicySet`)
and return every failed rule, not just the first, so a refused promotion can be
fixed in one go. Signature counts are over *distinct* trusted signers: two
signatures sharing a key or an identity count once (the alias decision composes
the trust rule's threshold with the SBOM and licence policies over the version's
evidence, :mod:`registry.verification.version_evidence`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from registry.admission_policy import (
    AliasRequirement,
    LicencesAllowed,
    NamespaceAdmission,
    SbomRequired,
    classify_file,
)
from registry.db.models import (
    Manifest,
    Repository,
    SignatureVerification,
)
from registry.policies_in_force import PolicySet
from registry.storage import BlobStore
from registry.verification import queries
from registry.verification.service import evaluate_version
from registry.verification.version_evidence import SignaturesRequired, VersionEvidence
from verifier.errors import NoPolicyForNamespace, VerificationError
from verifier.trust import TrustedSigner

__all__ = ["Decision", "FileEntry", "check_alias", "check_files"]


@dataclass(frozen=True, slots=True)
class FileEntry:
    name: str
    media_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a policy check; ``failed`` lists every rule that does not hold."""

    rule: str
    failed: tuple[str, ...]
    policies: dict[str, str]
    signers: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "rule": self.rule,
            "failed_rules": list(self.failed),
            "verified_signers": list(self.signers),
            "notes": list(self.notes),
            "policies": self.policies,
        }


def check_files(rule: NamespaceAdmission, files: Sequence[FileEntry]) -> list[str]:
    """Admission: formats and sizes. Returns one line per violation."""
    failed = []
    for entry in files:
        fmt = classify_file(entry.name, entry.media_type)
        if fmt not in rule.formats:
            why = " (pickle-based: it can run code when loaded)" if fmt == "pickle" else ""
            failed.append(
                f"{rule.name}: file {entry.name!r} has format {fmt!r}{why}, "
                f"not among the allowed formats {list(rule.formats)}"
            )
        if rule.max_file_bytes is not None and entry.size > rule.max_file_bytes:
            failed.append(
                f"{rule.name}: file {entry.name!r} is {entry.size} bytes, "
                f"over max_file_bytes {rule.max_file_bytes}"
            )
    total = sum(e.size for e in files)
    if rule.max_version_bytes is not None and total > rule.max_version_bytes:
        failed.append(
            f"{rule.name}: the version is {total} bytes, over max_version_bytes "
            f"{rule.max_version_bytes}"
        )
    return failed


async def version_entries(session: AsyncSession, manifest: Manifest) -> list[FileEntry]:
    rows = await queries.layers_of(session, manifest)
    return [FileEntry(r.title or r.digest, r.media_type, r.size) for r in rows]


def _needed(
    policies: PolicySet, repository: str, requirement: AliasRequirement
) -> tuple[int, tuple[TrustedSigner, ...], str]:
    """Signatures needed, the trust rule's signers, and a failure if they cannot be counted."""
    threshold = 0
    signers: tuple[TrustedSigner, ...] = ()
    problem = ""
    if policies.trust is not None:
        try:
            trust_rule = policies.trust.rule_for(repository)
            threshold, signers = trust_rule.threshold, trust_rule.signers
        except NoPolicyForNamespace as exc:
            problem = exc.diagnostics()
    needed = requirement.signatures if requirement.signatures is not None else threshold
    if needed and policies.trust is None:
        problem = "no trust policy is configured, so no signature can be trusted"
    return needed, signers, (problem if needed else "")


async def check_alias(
    session: AsyncSession,
    blobs: BlobStore,
    policies: PolicySet,
    *,
    repository: Repository,
    alias: str,
    target: Manifest,
    actor: str = "registry",
) -> Decision:
    """May ``alias`` of ``repository`` point at ``target`` under ``policies``?

    The alias rule's policies (signatures, SBOM, licences) are composed over the
    version's evidence and every one is evaluated, so every failure is listed.
    """
    rule = policies.admission.rule_for(repository.name)
    requirement = rule.for_alias(alias)
    if target.subject_digest is not None:
        # A tag on a referrer (oras can only push with a tag) names evidence, not a model.
        note = (
            "the target is a referrer (signature, SBOM), not a model: promotion rules do not apply"
        )
        return Decision(requirement.rule, (), policies.describe(), notes=(note,))
    failed = check_files(rule, await version_entries(session, target))
    needed, signers, problem = _needed(policies, repository.name, requirement)
    composed: list[SignaturesRequired | SbomRequired | LicencesAllowed] = []
    verdicts: Sequence[SignatureVerification] = ()
    if problem:
        failed.append(f"{requirement.rule}: {problem}")
    elif needed:
        verdicts = await evaluate_version(
            session, blobs, policies, repository=repository, subject=target, actor=actor
        )
        composed.append(SignaturesRequired(alias, needed, signers))
    composed.extend(requirement.sbom_policies(alias))
    evidence = VersionEvidence(
        verdicts, await queries.sbom_licenses(session, target), among=requirement.signers
    )
    for policy in composed:
        try:
            policy.verify(evidence)
        except VerificationError as exc:
            failed.append(f"{requirement.rule}: {exc}")
    return Decision(
        requirement.rule,
        tuple(failed),
        policies.describe(),
        tuple(evidence.signer_names()),
        tuple(evidence.notes),
    )
