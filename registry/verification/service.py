"""Signature referrers in, verdicts out: verify, store and re-evaluate per (version, signature).

A signature arrives as an OCI referrer (artifactType = the Sigstore bundle media
type, subject = the version's manifest, one layer = the OMS bundle), pushed by
``custody publish``, oras or any OCI client. It is always stored (evidence is
kept); its verdict is a ``signature_verifications`` row. A verdict reached under
an older trust policy, or stored with principals spelt another way (a key id
that changed form), is stale: :func:`evaluate_version` re-verifies it (bundles
are small and no model byte is re-read) before anything counts it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import record
from registry.db.models import Manifest, Repository, SignatureVerification
from registry.db.types import utcnow
from registry.db.upsert import insert_ignore
from registry.digests import Digest
from registry.oci.mediatypes import SIGNATURE_ARTIFACT_TYPES
from registry.oci.queries import version_files
from registry.policies_in_force import PolicySet
from registry.storage import BlobStore
from registry.verification import queries
from registry.verification.bundle_check import Verdict, verify_bundle
from registry.verification.queries import signature_referrers
from verifier.trust import PRINCIPAL_FORMAT

__all__ = [
    "SIGNATURE_ARTIFACT_TYPES",
    "evaluate_version",
    "is_current",
    "is_signature",
    "signature_referrers",
    "verify_referrer",
]

#: A bundle for 10,000 files is ~1.5 MB; anything far larger is not a bundle.
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


def is_signature(artifact_type: str | None) -> bool:
    return artifact_type in SIGNATURE_ARTIFACT_TYPES


def is_current(row: SignatureVerification, trust_digest: str) -> bool:
    """Whether a stored verdict may be counted as is under the trust policy ``trust_digest``."""
    return row.policy_digest == trust_digest and row.principal_format == PRINCIPAL_FORMAT


async def _bundle(session: AsyncSession, blobs: BlobStore, referrer: Manifest) -> bytes | Verdict:
    layers = await queries.layers_of(session, referrer)
    if len(layers) != 1:
        return Verdict(
            "failed", f"a signature referrer carries one bundle, not {len(layers)}", "bundle"
        )
    layer = layers[0]
    if layer.size > MAX_BUNDLE_BYTES:
        return Verdict("failed", f"bundle is {layer.size} bytes, over {MAX_BUNDLE_BYTES}", "bundle")
    return b"".join([chunk async for chunk in blobs.open(Digest.parse(layer.digest))])


async def verify_referrer(
    session: AsyncSession,
    blobs: BlobStore,
    policies: PolicySet,
    *,
    repository: Repository,
    subject: Manifest,
    referrer: Manifest,
    actor: str,
) -> SignatureVerification:
    """Verify one signature referrer of ``subject`` now; store (or refresh) and audit it."""
    bundle = await _bundle(session, blobs, referrer)
    bundle_digest = referrer.digest
    if isinstance(bundle, Verdict):
        verdict = bundle
    else:
        bundle_digest = "sha256:" + hashlib.sha256(bundle).hexdigest()
        files = await version_files(session, subject)
        verdict = await asyncio.to_thread(
            verify_bundle, bundle, files, policies.trust, repository.name
        )
    values = {
        "outcome": verdict.outcome,
        "signer": verdict.signer[:512] if verdict.signer else None,
        "trusted_as": verdict.trusted_as[:255] if verdict.trusted_as else None,
        "principals": list(verdict.principals),
        "failed_check": verdict.failed_check,
        "reason": verdict.reason,
        "policy_digest": policies.trust_digest,
        "principal_format": PRINCIPAL_FORMAT,
        "verified_at": utcnow(),
        "bundle_digest": bundle_digest,
    }
    await insert_ignore(
        session,
        SignatureVerification.__table__,  # type: ignore[arg-type]
        {
            "repository_id": repository.id,
            "subject_manifest_id": subject.id,
            "referrer_manifest_id": referrer.id,
            **values,
        },
    )
    row = await queries.verdict_of(session, subject, referrer)
    if row is None:  # pragma: no cover - the insert above guarantees a row
        raise RuntimeError("signature verification row vanished")
    for key, value in values.items():
        setattr(row, key, value)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="signature.verify",
        subject=f"{repository.name}@{subject.digest}",
        namespace=repository.name.split("/", 1)[0],
        detail={
            "signature": referrer.digest,
            "outcome": verdict.outcome,
            "signer": verdict.signer,
            "check": verdict.failed_check,
            "reason": verdict.reason,
            **policies.describe(),
        },
    )
    return row


async def evaluate_version(
    session: AsyncSession,
    blobs: BlobStore,
    policies: PolicySet,
    *,
    repository: Repository,
    subject: Manifest,
    actor: str = "registry",
) -> Sequence[SignatureVerification]:
    """Every signature verdict of ``subject``, each current under ``policies``."""
    referrers = await queries.signature_referrers(session, subject)
    if not referrers:
        return []
    rows = {row.referrer_manifest_id: row for row in await queries.verdicts_of(session, subject)}
    current = []
    for referrer in referrers:
        row = rows.get(referrer.id)
        if row is None or not is_current(row, policies.trust_digest):
            row = await verify_referrer(
                session,
                blobs,
                policies,
                repository=repository,
                subject=subject,
                referrer=referrer,
                actor=actor,
            )
        current.append(row)
    return current
