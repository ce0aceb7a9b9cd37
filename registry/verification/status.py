"""Is this digest a version of that model, and does its signature verify now? (for the hub)"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from registry.policies_in_force import PolicySet
from registry.storage import BlobStore
from registry.verification import queries
from registry.verification.service import evaluate_version

__all__ = ["SignatureStatus", "SignatureVerdict", "signature_status"]


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """One signature's verdict as stored (``outcome``: verified or failed)."""

    outcome: str
    signer: str | None
    failed_check: str | None
    reason: str
    bundle_digest: str


@dataclass(frozen=True, slots=True)
class SignatureStatus:
    #: The digest is a version manifest of the repository.
    registered: bool
    #: At least one signature verified under the trust policy in force.
    verified: bool
    signers: list[str] = field(default_factory=list)
    version: str | None = None
    #: Every signature's verdict (empty: the version is unsigned).
    verdicts: list[SignatureVerdict] = field(default_factory=list)


async def signature_status(
    session: AsyncSession,
    repository: str,
    manifest_digest: str,
    *,
    policies: PolicySet | None = None,
    blobs: BlobStore | None = None,
) -> SignatureStatus:
    """The status of ``repository@manifest_digest``.

    With ``policies`` and ``blobs`` (the app's ``policies.current`` and ``blobs``),
    verdicts reached under an older trust policy are re-verified first; without
    them, only verdicts stored under any policy are read (a weaker answer).
    """
    found = await queries.version_by_digest(session, repository, manifest_digest)
    if found is None:
        return SignatureStatus(registered=False, verified=False)
    repo, manifest, tag = found
    if policies is not None and blobs is not None:
        rows = list(
            await evaluate_version(session, blobs, policies, repository=repo, subject=manifest)
        )
    else:
        rows = await queries.verdicts_of(session, manifest)
    signers = sorted({r.signer or "?" for r in rows if r.outcome == "verified"})
    verdicts = [
        SignatureVerdict(r.outcome, r.signer, r.failed_check, r.reason or "", r.bundle_digest)
        for r in rows
    ]
    return SignatureStatus(True, bool(signers), signers, tag.name, verdicts)
