"""The OCI store's rules over manifests, tags (versions and aliases) and referrers.

Rules that make Custody a model registry rather than a plain OCI registry live
here, shared by ``/v2/`` and ``/api/v1/``:

- a tag matching the version pattern is a *version*: created once, never moved
  and never deleted, through any API;
- any other tag is an *alias*: every move goes through the promotion gate and
  is audited with who moved it, from which digest to which (the hooks of
  :mod:`registry.oci.hooks` are told of every tag change, in the same transaction);
- nothing a manifest needs is deleted from under it: a manifest an index lists
  (a version's platform or part manifests), the blobs any manifest references,
  and the signatures and SBOMs of a version (the evidence its promotions and
  the hub rely on) are refused with 409 ``DENIED``;
- every such refusal is audited (``registry.audit.service.refuse``): ``version.move.refused``,
  ``version.delete.refused``, ``manifest.delete.refused``, ``blob.delete.refused``;
- writes that check what a manifest needs (a manifest PUT, a manifest or blob
  delete, a tag change) first take the repository's lock
  (:func:`~registry.oci.queries.lock_repository`), so a check and the write it allows
  cannot interleave with another request's (or with the garbage collector's re-check);
- whatever may have lost its last reference (the manifest an alias left, a deleted
  manifest's blobs, children and referrers, an unlinked blob) is told to the
  :class:`~registry.oci.hooks.ReferencesDropped` hooks in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import record, refuse
from registry.auth import Principal, Scope
from registry.db.models import Manifest, ManifestReference, Repository, Tag
from registry.db.types import utcnow
from registry.errors import (
    BlobUnknown,
    Conflict,
    Immutable,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
)
from registry.naming import RepositoryName, VersionPattern
from registry.oci import queries, usage
from registry.oci.hooks import AliasMove, OciHooks, Unreferenced
from registry.oci.manifests import ParsedManifest
from registry.oci.mediatypes import EVIDENCE_ARTIFACT_TYPES


@dataclass(frozen=True, slots=True)
class TagChange:
    tag: str
    is_version: bool
    previous: str | None  # digest before, None if new
    current: str | None  # digest after, None if removed


async def refuse_change(
    session: AsyncSession,
    error: Conflict,
    *,
    actor: str,
    action: str,
    subject: str,
) -> NoReturn:
    """Refuse a change to the store, audited (``registry.audit.service.refuse``)."""
    await refuse(
        session,
        error,
        actor=actor,
        action=action,
        subject=subject,
        namespace=subject.split("/", 1)[0],
        detail={**error.extra, "reason": error.detail},
    )


async def check_references(
    session: AsyncSession, repository: Repository, parsed: ParsedManifest
) -> None:
    """Every blob and child manifest a manifest names must already be in the repository."""
    for descriptor in parsed.references:
        if descriptor.role == "manifest":
            child = await queries.find_manifest_by_digest(session, repository, descriptor.digest)
            if child is None:
                raise ManifestBlobUnknown(
                    f"index references manifest {descriptor.digest}, "
                    f"which is not in {repository.name}",
                    extra={"digest": descriptor.digest},
                )
            if child.size != descriptor.size:
                raise ManifestInvalid(
                    f"descriptor size {descriptor.size} for {descriptor.digest} "
                    f"does not match the stored {child.size}"
                )
            continue
        size = await queries.linked_blob_size(session, repository, descriptor.digest)
        if size is None:
            raise ManifestBlobUnknown(
                f"{descriptor.role} blob {descriptor.digest} is not in {repository.name}; "
                "push it first",
                extra={"digest": descriptor.digest},
            )
        if size != descriptor.size:
            raise ManifestInvalid(
                f"descriptor size {descriptor.size} for {descriptor.digest} "
                f"does not match the stored {size}"
            )


async def store_manifest(
    session: AsyncSession,
    repository: Repository,
    *,
    digest: str,
    body: bytes,
    parsed: ParsedManifest,
    actor: str,
) -> tuple[Manifest, bool]:
    """Insert the manifest if new; return it and whether it was created."""
    existing = await queries.find_manifest_by_digest(session, repository, digest)
    if existing is not None:
        return existing, False
    manifest = Manifest(
        repository_id=repository.id,
        digest=digest,
        media_type=parsed.media_type,
        artifact_type=parsed.artifact_type,
        subject_digest=parsed.subject.digest if parsed.subject else None,
        size=len(body),
        content=body,
        annotations=parsed.annotations,
        pushed_by=actor,
        created_at=utcnow(),
    )
    manifest.references = [
        ManifestReference(
            position=position,
            role=descriptor.role,
            digest=descriptor.digest,
            media_type=descriptor.media_type,
            size=descriptor.size,
            title=descriptor.title,
        )
        for position, descriptor in enumerate(parsed.references)
    ]
    session.add(manifest)
    await session.flush()
    namespace = repository.name.split("/", 1)[0]
    await record(
        session,
        actor=actor,
        action="manifest.push",
        subject=f"{repository.name}@{digest}",
        namespace=namespace,
        detail={
            "media_type": parsed.media_type,
            "artifact_type": parsed.artifact_type,
            "subject": parsed.subject.digest if parsed.subject else None,
        },
    )
    return manifest, True


async def set_tag(
    session: AsyncSession,
    repository: Repository,
    name: str,
    manifest: Manifest,
    *,
    principal: Principal,
    versions: VersionPattern,
    hooks: OciHooks,
) -> TagChange:
    """Point ``name`` at ``manifest``: create a version once, or move an alias via the gate."""
    namespace = repository.name.split("/", 1)[0]
    await queries.lock_repository(session, repository)  # the collector re-checks under it
    tag = await queries.find_tag(session, repository, name)
    is_version = versions.is_version(name)
    if tag is not None and tag.manifest_id == manifest.id:
        return TagChange(name, is_version, manifest.digest, manifest.digest)
    if is_version:
        if tag is not None:
            await refuse_change(
                session,
                Immutable(
                    f"version {name} of {repository.name} already points at "
                    f"{tag.manifest.digest}; versions are immutable (push a new version "
                    "instead)",
                    extra={"tag": name, "digest": tag.manifest.digest, "to": manifest.digest},
                ),
                actor=principal.actor,
                action="version.move.refused",
                subject=f"{repository.name}:{name}",
            )
        session.add(_new_tag(repository, name, manifest, is_version=True, actor=principal.actor))
        await session.flush()
        await record(
            session,
            actor=principal.actor,
            action="version.create",
            subject=f"{repository.name}:{name}",
            namespace=namespace,
            detail={"digest": manifest.digest},
        )
        await hooks.tags_changed(session, namespace)
        return TagChange(name, True, None, manifest.digest)

    current = tag.manifest if tag is not None else None
    principal.require(namespace, Scope.PROMOTE, repository=repository.name)
    await hooks.gate.check(session, AliasMove(repository, name, current, manifest, principal))
    if tag is None:
        session.add(_new_tag(repository, name, manifest, is_version=False, actor=principal.actor))
    else:
        tag.manifest_id = manifest.id
        tag.updated_at = utcnow()
        tag.updated_by = principal.actor
    await session.flush()
    previous = current.digest if current is not None else None
    await record(
        session,
        actor=principal.actor,
        action="alias.move",
        subject=f"{repository.name}:{name}",
        namespace=namespace,
        detail={"from": previous, "to": manifest.digest},
    )
    await hooks.tags_changed(session, namespace)
    if previous is not None:
        await hooks.references_dropped(
            session, Unreferenced("alias.move", repository.id, manifests=(previous,))
        )
    return TagChange(name, False, previous, manifest.digest)


def _new_tag(
    repository: Repository, name: str, manifest: Manifest, *, is_version: bool, actor: str
) -> Tag:
    now = utcnow()
    return Tag(
        repository_id=repository.id,
        name=name,
        manifest_id=manifest.id,
        is_version=is_version,
        created_at=now,
        updated_at=now,
        updated_by=actor,
    )


async def remove_alias(
    session: AsyncSession,
    repository: Repository,
    tag: Tag,
    *,
    principal: Principal,
    hooks: OciHooks,
) -> None:
    if tag.is_version:
        await refuse_change(
            session,
            Immutable(
                f"version {tag.name} of {repository.name} cannot be deleted; "
                "versions are immutable",
                extra={"tag": tag.name, "digest": tag.manifest.digest},
            ),
            actor=principal.actor,
            action="version.delete.refused",
            subject=f"{repository.name}:{tag.name}",
        )
    principal.require(repository.name.split("/", 1)[0], Scope.PROMOTE, repository=repository.name)
    await queries.lock_repository(session, repository)  # the collector re-checks under it
    await hooks.gate.check(session, AliasMove(repository, tag.name, tag.manifest, None, principal))
    await session.delete(tag)
    await session.flush()
    await record(
        session,
        actor=principal.actor,
        action="alias.delete",
        subject=f"{repository.name}:{tag.name}",
        namespace=repository.name.split("/", 1)[0],
        detail={"from": tag.manifest.digest},
    )
    await hooks.tags_changed(session, repository.name.split("/", 1)[0])
    await hooks.references_dropped(
        session, Unreferenced("alias.delete", repository.id, manifests=(tag.manifest.digest,))
    )


async def delete_manifest(
    session: AsyncSession,
    repository: Repository,
    manifest: Manifest,
    *,
    principal: Principal,
    hooks: OciHooks,
) -> None:
    """Delete a manifest that no version names and nothing needs; aliases on it are removed
    via the gate. Checked under the repository's lock; refusals are audited."""
    await queries.lock_repository(session, repository)
    gone = not await queries.manifest_exists(session, manifest.id)
    if gone:  # deleted by a request that held the lock before this one
        raise ManifestUnknown(f"manifest {manifest.digest} is not in {repository.name}")
    await _require_unreferenced(session, repository, manifest, actor=principal.actor)
    tags = await queries.tags_on(session, manifest)
    versions = sorted(t.name for t in tags if t.is_version)
    if versions:
        await refuse_change(
            session,
            Immutable(
                f"{manifest.digest} is version {', '.join(versions)} of {repository.name}; "
                "versions are immutable and cannot be deleted",
                extra={"digest": manifest.digest, "versions": versions},
            ),
            actor=principal.actor,
            action="version.delete.refused",
            subject=f"{repository.name}@{manifest.digest}",
        )
    for tag in tags:
        await remove_alias(session, repository, tag, principal=principal, hooks=hooks)
    held = await queries.manifest_reference_digests(session, manifest.id)
    referrers = await queries.referrer_digests(session, repository.id, manifest.digest)
    await usage.lock_namespace(session, repository.namespace_id)  # before the row goes
    await session.delete(manifest)
    await session.flush()
    await usage.release(
        session, repository.namespace_id, [("manifest", manifest.digest, manifest.size)]
    )
    await record(
        session,
        actor=principal.actor,
        action="manifest.delete",
        subject=f"{repository.name}@{manifest.digest}",
        namespace=repository.name.split("/", 1)[0],
    )
    await hooks.tags_changed(session, repository.name.split("/", 1)[0])
    await hooks.references_dropped(
        session,
        Unreferenced(
            "manifest.delete",
            repository.id,
            manifests=(*(d for role, d in held if role == "manifest"), *referrers),
            blobs=tuple(d for role, d in held if role != "manifest"),
        ),
    )


async def _require_unreferenced(
    session: AsyncSession, repository: Repository, manifest: Manifest, *, actor: str
) -> None:
    """Refuse (audited) to delete a manifest another manifest lists, or a version's evidence."""
    subject = f"{repository.name}@{manifest.digest}"
    parent = await queries.index_listing(session, repository, manifest.digest)
    if parent is not None:
        await refuse_change(
            session,
            Conflict(
                f"{manifest.digest} is listed by index {parent} in {repository.name}; deleting "
                "it would break that index (delete the index first; a version's index is "
                "immutable)",
                extra={"digest": manifest.digest, "index": parent},
            ),
            actor=actor,
            action="manifest.delete.refused",
            subject=subject,
        )
    if manifest.subject_digest is None or manifest.artifact_type not in EVIDENCE_ARTIFACT_TYPES:
        return
    version = await queries.version_named_on(session, repository, manifest.subject_digest)
    if version is not None:
        await refuse_change(
            session,
            Conflict(
                f"{manifest.digest} is a {manifest.artifact_type} referrer of version {version} "
                f"of {repository.name}: evidence about a version is kept as long as the version",
                extra={"digest": manifest.digest, "version": version},
            ),
            actor=actor,
            action="manifest.delete.refused",
            subject=subject,
        )


async def unlink_blob(
    session: AsyncSession,
    repository: Repository,
    name: RepositoryName,
    digest: str,
    *,
    actor: str,
    hooks: OciHooks,
) -> None:
    """Unlink blob ``digest`` from ``repository``, audited; refused while a manifest there
    references it (not committed)."""
    await queries.lock_repository(session, repository)  # no manifest PUT may start using it
    # Then the digest's (as uploads and the collector take it, before the namespace's): the
    # link read below is not one the collector is removing.
    await queries.lock_digest(session, digest)
    link = await queries.blob_link(session, repository, digest)
    if link is None:
        raise BlobUnknown(f"blob {digest} is not in repository {name}")
    user = await queries.manifest_using_blob(session, repository, digest)
    if user is not None:
        await refuse_change(
            session,
            Conflict(
                f"blob {digest} is used by manifest {user} in {name}; delete that first",
                extra={"digest": digest, "manifest": user},
            ),
            actor=actor,
            action="blob.delete.refused",
            subject=f"{name}@{digest}",
        )
    size = await queries.blob_size(session, digest)
    # The namespace's lock before the link goes (the usage counter's order).
    await usage.lock_namespace(session, repository.namespace_id)
    await session.delete(link)
    await session.flush()
    if size is not None:
        await usage.release(session, repository.namespace_id, [("blob", digest, size)])
    await record(
        session,
        actor=actor,
        action="blob.unlink",
        subject=f"{name}@{digest}",
        namespace=name.namespace,
    )
    await hooks.references_dropped(session, Unreferenced("blob.unlink", blobs=(digest,)))
