"""The lifecycle's work behind ``/api/v1/models``, without HTTP: what an alias may move to,
moving and resolving aliases, and a version's view with its verdicts fresh under the trust
policy in force."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import Principal
from registry.db.models import Manifest, Repository, Tag
from registry.digests import Digest
from registry.errors import InvalidInput, NotFound
from registry.lifecycle import queries, schemas
from registry.naming import VersionPattern, validate_tag
from registry.oci import queries as oci_queries
from registry.oci import service as oci_service
from registry.oci.hooks import OciHooks
from registry.policies_in_force import PolicySet
from registry.storage import BlobStore
from registry.verification.hooks import require_servable
from registry.verification.service import evaluate_version

__all__ = [
    "alias_target",
    "fresh_version_view",
    "move_alias",
    "remove_alias",
    "resolve_alias",
    "version_view",
]


async def alias_target(
    session: AsyncSession, repository: Repository, *, version: str | None, digest: str | None
) -> Manifest:
    """The manifest named by a version of ``repository``, or else by its digest."""
    if version is not None:
        tag = await oci_queries.find_tag(session, repository, validate_tag(version))
        if tag is None or not tag.is_version:
            raise NotFound(f"{repository.name} has no version {version}")
        return tag.manifest
    parsed = Digest.parse(digest or "")
    found = await oci_queries.find_manifest_by_digest(session, repository, str(parsed))
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


async def version_view(
    session: AsyncSession,
    blobs: BlobStore,
    policies: PolicySet,
    repository: Repository,
    version: str,
) -> schemas.VersionView:
    """The view of ``repository``'s version ``version`` (404 if it has none)."""
    validate_tag(version)
    tag = await oci_queries.find_tag(session, repository, version)
    if tag is None or not tag.is_version:
        raise NotFound(f"{repository.name} has no version {version}")
    return await fresh_version_view(session, blobs, policies, repository, tag)


async def resolve_alias(
    session: AsyncSession,
    blobs: BlobStore,
    policies: PolicySet,
    repository: Repository,
    alias: str,
) -> schemas.VersionView:
    """The version an alias points at (refused in a strict namespace if it fails policy now)."""
    tag = await oci_queries.find_tag(session, repository, validate_tag(alias))
    if tag is None or tag.is_version:
        raise NotFound(f"{repository.name} has no alias {alias}")
    await require_servable(
        session, blobs, policies, repository=repository, alias=alias, target=tag.manifest
    )
    version = await queries.first_version_of(session, tag.manifest_id)
    if version is None:
        raise NotFound(f"alias {alias} of {repository.name} points at no version")
    return await fresh_version_view(session, blobs, policies, repository, version)


async def move_alias(
    session: AsyncSession,
    repository: Repository,
    alias: str,
    request: schemas.AliasMoveRequest,
    *,
    principal: Principal,
    versions: VersionPattern,
    hooks: OciHooks,
) -> schemas.AliasMoveResult:
    """Point ``alias`` at a version or digest through the promotion gate (not committed)."""
    validate_tag(alias)
    if versions.is_version(alias):
        raise InvalidInput(f"{alias!r} is a version, not an alias: versions never move")
    if (request.version is None) == (request.digest is None):
        raise InvalidInput("give exactly one of 'version' or 'digest'")
    manifest = await alias_target(
        session, repository, version=request.version, digest=request.digest
    )
    change = await oci_service.set_tag(
        session, repository, alias, manifest, principal=principal, versions=versions, hooks=hooks
    )
    return schemas.AliasMoveResult(
        model=repository.name, alias=alias, previous=change.previous, current=manifest.digest
    )


async def remove_alias(
    session: AsyncSession,
    repository: Repository,
    alias: str,
    *,
    principal: Principal,
    hooks: OciHooks,
) -> None:
    """Remove ``alias`` through the promotion gate (not committed)."""
    tag = await oci_queries.find_tag(session, repository, validate_tag(alias))
    if tag is None:
        raise NotFound(f"{repository.name} has no alias {alias}")
    await oci_service.remove_alias(session, repository, tag, principal=principal, hooks=hooks)
