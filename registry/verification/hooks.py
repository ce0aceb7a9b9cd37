"""Where policy meets the OCI and lifecycle paths: admission at push, strict alias reads.

``admit_manifest`` before a manifest is stored, ``ingest_signature`` after a
signature referrer is stored, ``require_servable`` before an alias of a strict
namespace is answered. :class:`PolicyHooks` registers them with the OCI store
(:mod:`registry.oci.hooks`), over the policies in force at each call.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import refuse
from registry.db.models import Manifest, Repository, SignatureVerification
from registry.oci.manifests import ParsedManifest
from registry.oci.queries import find_manifest_by_digest
from registry.policies_in_force import PolicyHolder, PolicySet
from registry.storage import BlobStore
from registry.verification.decisions import FileEntry, check_alias, check_files
from registry.verification.errors import AdmissionRefused, AliasBlocked
from registry.verification.service import is_signature, verify_referrer

__all__ = ["PolicyHooks", "admit_manifest", "ingest_signature", "require_servable"]


async def admit_manifest(
    session: AsyncSession,
    policies: PolicySet,
    *,
    repository: str,
    parsed: ParsedManifest,
    actor: str,
) -> None:
    """Refuse a model manifest whose files break the namespace's admission rule (audited;
    ``session`` is rolled back)."""
    if parsed.subject is not None or not parsed.layers:
        return  # referrers (signatures, SBOMs) carry evidence, not model files
    namespace = repository.split("/", 1)[0]
    rule = policies.admission.rule_for(repository)
    entries = [FileEntry(d.title or d.digest, d.media_type, d.size) for d in parsed.layers]
    failed = check_files(rule, entries)
    if not failed:
        return
    detail: dict[str, object] = {"failed_rules": failed, **policies.describe()}
    await refuse(
        session,
        AdmissionRefused(f"push to {repository} refused: " + "; ".join(failed), extra=detail),
        actor=actor,
        action="push.refused",
        subject=repository,
        namespace=namespace,
        detail=detail,
    )


async def ingest_signature(
    session: AsyncSession,
    blobs: BlobStore,
    policies: PolicySet,
    *,
    repository: Repository,
    referrer: Manifest,
    actor: str,
) -> SignatureVerification | None:
    """Verify a just-stored signature referrer; ``None`` if it is not one or its subject is absent.

    The referrer is kept whatever the verdict: a bad signature is evidence.
    """
    if not is_signature(referrer.artifact_type) or referrer.subject_digest is None:
        return None
    subject = await find_manifest_by_digest(session, repository, referrer.subject_digest)
    if subject is None:
        return None  # verified when its subject arrives and is first evaluated
    return await verify_referrer(
        session,
        blobs,
        policies,
        repository=repository,
        subject=subject,
        referrer=referrer,
        actor=actor,
    )


async def require_servable(
    session: AsyncSession,
    blobs: BlobStore,
    policies: PolicySet,
    *,
    repository: Repository,
    alias: str,
    target: Manifest,
) -> None:
    """In a strict namespace, refuse to resolve an alias whose version fails policy now."""
    if not policies.admission.rule_for(repository.name).strict:
        return
    decision = await check_alias(
        session, blobs, policies, repository=repository, alias=alias, target=target
    )
    # Keep verdicts refreshed under a new trust policy, so the next read does not redo them.
    await session.commit()
    if not decision.allowed:
        raise AliasBlocked(
            f"alias {repository.name}:{alias} points at {target.digest}, which no longer "
            "satisfies policy: "
            + "; ".join(decision.failed)
            + " (read it by digest to inspect the evidence)",
            extra=decision.to_json(),
        )


class PolicyHooks:
    """The OCI store's ``ManifestAdmission``, ``ManifestStored`` (signatures) and
    ``AliasRead`` hooks, each under the policies in force when it runs."""

    def __init__(self, policies: PolicyHolder, blobs: BlobStore) -> None:
        self.policies = policies
        self.blobs = blobs

    async def admit(
        self, session: AsyncSession, *, repository: str, parsed: ParsedManifest, actor: str
    ) -> None:
        await admit_manifest(
            session, self.policies.current, repository=repository, parsed=parsed, actor=actor
        )

    async def manifest_stored(
        self,
        session: AsyncSession,
        *,
        repository: Repository,
        manifest: Manifest,
        parsed: ParsedManifest,
        actor: str,
    ) -> None:
        await ingest_signature(
            session,
            self.blobs,
            self.policies.current,
            repository=repository,
            referrer=manifest,
            actor=actor,
        )

    async def check_alias_read(
        self, session: AsyncSession, *, repository: Repository, alias: str, target: Manifest
    ) -> None:
        await require_servable(
            session,
            self.blobs,
            self.policies.current,
            repository=repository,
            alias=alias,
            target=target,
        )
