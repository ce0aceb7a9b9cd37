"""Policy decisions: may this version be pushed, may this alias point at it, may it be served.

All three read the policies in force once (:class:`~registry.policies_in_force.PolicySet`)
and return every failed rule, not just the first, so a refused promotion can be
fixed in one go. Signature counts are over *distinct* trusted signers: two
signatures sharing a key or an identity count once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.admission_policy import AliasRequirement, NamespaceAdmission, classify_file
from registry.db.models import (
    Manifest,
    ManifestReference,
    Repository,
    Sbom,
    SbomFact,
    SignatureVerification,
)
from registry.policies_in_force import PolicySet
from registry.storage import BlobStore
from registry.verification.records import evaluate_version
from verifier.errors import NoPolicyForNamespace

__all__ = ["Decision", "FileEntry", "check_alias", "check_files", "distinct_signers"]


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


def distinct_signers(rows: Sequence[SignatureVerification]) -> list[list[SignatureVerification]]:
    """Group verified rows into signers: rows sharing any principal are one signer."""
    groups: list[tuple[set[str], list[SignatureVerification]]] = []
    for row in rows:
        principals = set(row.principals) or {f"row:{row.id}"}
        merged = [g for g in groups if g[0] & principals]
        keep = (principals, [row])
        for group in merged:
            keep[0].update(group[0])
            keep[1].extend(group[1])
            groups.remove(group)
        groups.append(keep)
    return [members for _, members in groups]


async def version_entries(session: AsyncSession, manifest: Manifest) -> list[FileEntry]:
    rows = (
        await session.scalars(
            select(ManifestReference)
            .where(ManifestReference.manifest_id == manifest.id, ManifestReference.role == "layer")
            .order_by(ManifestReference.position)
        )
    ).all()
    return [FileEntry(r.title or r.digest, r.media_type, r.size) for r in rows]


async def _sbom_licenses(session: AsyncSession, manifest: Manifest) -> list[str] | None:
    sboms = (
        await session.scalars(select(Sbom.id).where(Sbom.subject_manifest_id == manifest.id))
    ).all()
    if not sboms:
        return None
    facts = (
        await session.scalars(
            select(SbomFact.value).where(SbomFact.sbom_id.in_(sboms), SbomFact.kind == "license")
        )
    ).all()
    return sorted(set(facts))


def _needed(policies: PolicySet, repository: str, requirement: AliasRequirement) -> tuple[int, str]:
    """Signatures needed, and a failure if they cannot be counted at all."""
    threshold = 0
    problem = ""
    if policies.trust is not None:
        try:
            threshold = policies.trust.rule_for(repository).threshold
        except NoPolicyForNamespace as exc:
            problem = exc.diagnostics()
    needed = requirement.signatures if requirement.signatures is not None else threshold
    if needed and policies.trust is None:
        problem = "no trust policy is configured, so no signature can be trusted"
    return needed, (problem if needed else "")


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
    """May ``alias`` of ``repository`` point at ``target`` under ``policies``?"""
    rule = policies.admission.rule_for(repository.name)
    requirement = rule.for_alias(alias)
    if target.subject_digest is not None:
        # A tag on a referrer (oras can only push with a tag) names evidence, not a model.
        note = (
            "the target is a referrer (signature, SBOM), not a model: promotion rules do not apply"
        )
        return Decision(requirement.rule, (), policies.describe(), notes=(note,))
    failed = check_files(rule, await version_entries(session, target))
    notes: list[str] = []
    signers: list[str] = []
    needed, problem = _needed(policies, repository.name, requirement)
    if problem:
        failed.append(f"{requirement.rule}: {problem}")
    elif needed:
        rows = await evaluate_version(
            session, blobs, policies, repository=repository, subject=target, actor=actor
        )
        counted = [
            r
            for r in rows
            if r.outcome == "verified"
            and (requirement.signers is None or (r.trusted_as or "") in requirement.signers)
        ]
        groups = distinct_signers(counted)
        signers = [group[0].signer or "?" for group in groups]
        for row in rows:
            if row.outcome != "verified":
                notes.append(
                    f"signature {row.bundle_digest} not counted: [{row.failed_check}] {row.reason}"
                )
            elif row not in counted:
                notes.append(
                    f"signature by {row.signer} not counted: {row.trusted_as!r} is not among "
                    f"{list(requirement.signers or ())}"
                )
        if len(groups) < needed:
            among = f" among {list(requirement.signers)}" if requirement.signers else ""
            failed.append(
                f"{requirement.rule}: alias {alias!r} needs {needed} distinct trusted signer(s)"
                f"{among}; {len(groups)} verified" + (f" ({', '.join(signers)})" if signers else "")
            )
    licenses = await _sbom_licenses(session, target)
    if requirement.require_sbom and licenses is None:
        failed.append(f"{requirement.rule}: alias {alias!r} needs an SBOM; the version has none")
    if requirement.licenses is not None:
        if licenses is None:
            failed.append(f"{requirement.rule}: licences cannot be checked without an SBOM")
        elif not licenses:
            failed.append(f"{requirement.rule}: the SBOM declares no licence")
        else:
            refused = [name for name in licenses if name not in requirement.licenses]
            if refused:
                failed.append(
                    f"{requirement.rule}: licence(s) {refused} not allowed "
                    f"(allowed: {list(requirement.licenses)})"
                )
    return Decision(
        requirement.rule, tuple(failed), policies.describe(), tuple(signers), tuple(notes)
    )
