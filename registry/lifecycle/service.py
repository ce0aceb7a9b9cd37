"""The lifecycle's work behind ``/api/v1/models``, without HTTP: what an alias may move to,
and a version's view with its verdicts fresh under the trust policy in force."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import Manifest, Repository, Tag
from registry.digests import Digest
from registry.errors import NotFound
from registry.lifecycle import queries, schemas
from registry.naming import validate_tag
from registry.oci import service as oci_service
from registry.policies_in_force import PolicySet
from registry.storage import BlobStore
from registry.verification.service import evaluate_version

__all__ = ["alias_target", "fresh_version_view"]


async def alias_target(
    session: AsyncSession, repository: Repository, *, version: str | None, digest: str | None
) -> Manifest:
    """The manifest named by a version of ``repository``, or else by its digest."""
    if version is not None:
        tag = await oci_service.find_tag(session, repository, validate_tag(version))
        if tag is None or not tag.is_version:
            raise NotFound(f"{repository.name} has no version {version}")
        return tag.manifest
    parsed = Digest.parse(digest or "")
    found = await oci_service.find_manifest_by_digest(session, repository, str(parsed))
    if found is None:
        raise NotFound(f"{repository.name} has no manifest {parsed}")
    return found


async def fresh_version_view(
    session: AsyncSession,
    blobs: BlobStore,
    policies: PolicySet,
    repository: Repository,
    tag: Tag,
) -> schemas.VersionView:
    """A version's view, its verdicts first re-verified if an older trust policy reached them
    (the re-verified verdicts are committed)."""
    await evaluate_version(session, blobs, policies, repository=repository, subject=tag.manifest)
    await session.commit()
    return await queries.version_view(
        session, blobs, repository, tag, trust_digest=policies.trust_digest
    )
