"""``/v2/<name>/manifests/<reference>``: put, get, head, delete."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Response

from registry.audit.service import refuse
from registry.auth import Scope
from registry.cache import CachedManifest, TTLCache
from registry.db.models import Manifest
from registry.digests import Digest
from registry.errors import (
    Denied,
    DigestInvalid,
    ManifestUnknown,
    PayloadTooLarge,
    QuotaExceeded,
)
from registry.http.deps import read_limited_body
from registry.naming import RepositoryName, validate_tag
from registry.oci import queries, quota, service
from registry.oci.context import OciContext, challenge
from registry.oci.file_checks import check_model_files
from registry.oci.hooks import Unreferenced
from registry.oci.manifests import parse_manifest


def _is_digest(reference: str) -> bool:
    return ":" in reference


async def _read_limited(ctx: OciContext) -> bytes:
    limit = ctx.settings.oci.max_manifest_bytes
    return await read_limited_body(
        ctx.request,
        limit,
        PayloadTooLarge(
            f"manifest exceeds the {limit}-byte limit (CUSTODY_MAX_MANIFEST_BYTES): manifests "
            "describe files and must stay small; put large data in blobs"
        ),
    )


async def resolve(ctx: OciContext, name: RepositoryName, reference: str) -> Manifest:
    repository = await ctx.repository(name)
    if _is_digest(reference):
        digest = Digest.parse(reference)
        manifest = await queries.find_manifest_by_digest(ctx.session, repository, str(digest))
    else:
        validate_tag(reference)
        tag = await queries.find_tag(ctx.session, repository, reference)
        manifest = tag.manifest if tag is not None else None
    if manifest is None:
        raise ManifestUnknown(f"manifest {reference} is not in {name}")
    return manifest


async def get_manifest(ctx: OciContext, name: RepositoryName, reference: str) -> Response[Any]:
    await ctx.authorize(name, Scope.PULL)
    cache: TTLCache[tuple[str, str], CachedManifest] = ctx.services.manifest_cache
    cached = None if _is_digest(reference) else cache.get((name.full, reference))
    if cached is None:
        cached = await _lookup(ctx, name, reference)
        if not _is_digest(reference):
            cache.put((name.full, reference), cached)
    headers = {"Docker-Content-Digest": cached.digest, "Content-Length": str(len(cached.content))}
    body = b"" if ctx.request.method == "HEAD" else cached.content
    return Response(body, headers=headers, media_type=cached.media_type)


async def _lookup(ctx: OciContext, name: RepositoryName, reference: str) -> CachedManifest:
    # The hot path of every pull: one query from names to manifest bytes.
    if _is_digest(reference):
        digest = str(Digest.parse(reference))
        manifest = await queries.manifest_by_name_and_digest(ctx.session, name.full, digest)
    else:
        manifest = await queries.manifest_by_name_and_tag(
            ctx.session, name.full, validate_tag(reference)
        )
    if manifest is None:
        await ctx.repository(name)  # NAME_UNKNOWN when the repository itself is missing
        raise ManifestUnknown(f"manifest {reference} is not in {name}")
    if not _is_digest(reference) and not ctx.versions.is_version(reference):
        await ctx.hooks.alias_read.check_alias_read(
            ctx.session, repository=await ctx.repository(name), alias=reference, target=manifest
        )
    return CachedManifest(manifest.digest, manifest.media_type, manifest.content)


async def put_manifest(ctx: OciContext, name: RepositoryName, reference: str) -> Response[Any]:
    await ctx.authorize(name, Scope.PUSH)
    if not _is_digest(reference):
        validate_tag(reference)
        if not ctx.versions.is_version(reference):  # an alias: moving it is a promotion
            await ctx.authorize(name, Scope.PROMOTE)
    body = await _read_limited(ctx)
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if _is_digest(reference) and str(Digest.parse(reference)) != digest:
        raise DigestInvalid(f"manifest content has digest {digest}, not {reference}")
    parsed = parse_manifest(body, ctx.request.headers.get("content-type"))
    await ctx.hooks.admission.admit(
        ctx.session, repository=name.full, parsed=parsed, actor=ctx.principal.actor
    )
    repository = await queries.ensure_repository(ctx.session, name, actor=ctx.principal.actor)
    await queries.lock_repository(ctx.session, repository)  # no delete between check and write
    await service.check_references(ctx.session, repository, parsed)
    await check_model_files(ctx.blobs, parsed)
    try:
        await quota.require_room(
            ctx.session, repository.namespace_id, [("manifest", digest, len(body))]
        )
    except QuotaExceeded as exc:
        await refuse(
            ctx.session,
            exc,
            actor=ctx.principal.actor,
            action="manifest.push.refused",
            subject=f"{name}@{digest}",
            namespace=name.namespace,
            detail={**exc.extra, "reason": exc.detail},
        )
    manifest, created = await service.store_manifest(
        ctx.session, repository, digest=digest, body=body, parsed=parsed, actor=ctx.principal.actor
    )
    if created:  # SBOM ingest, signature verification
        await ctx.hooks.manifest_stored(
            ctx.session,
            repository=repository,
            manifest=manifest,
            parsed=parsed,
            actor=ctx.principal.actor,
        )
    if created and _is_digest(reference):  # untagged: kept only if an index or subject needs it
        await ctx.hooks.references_dropped(
            ctx.session, Unreferenced("manifest.untagged", repository.id, manifests=(digest,))
        )
    if not _is_digest(reference):
        await service.set_tag(
            ctx.session,
            repository,
            reference,
            manifest,
            principal=ctx.principal,
            versions=ctx.versions,
            hooks=ctx.hooks,
        )
    await ctx.session.commit()
    ctx.services.manifest_cache.clear()
    headers = {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
    if parsed.subject is not None:
        headers["OCI-Subject"] = parsed.subject.digest
    return Response(b"", status_code=201, headers=headers)


async def delete_manifest(ctx: OciContext, name: RepositoryName, reference: str) -> Response[Any]:
    await ctx.authorize(name, Scope.PUSH, actions="delete")
    repository = await ctx.repository(name)
    if _is_digest(reference):
        manifest = await resolve(ctx, name, reference)
        try:
            await service.delete_manifest(
                ctx.session, repository, manifest, principal=ctx.principal, hooks=ctx.hooks
            )
        except Denied as exc:  # an alias points at it: removing that needs promote
            exc.headers["WWW-Authenticate"] = challenge(
                ctx.request, name.full, "delete", insufficient=True
            )
            raise
    else:
        validate_tag(reference)
        if not ctx.versions.is_version(reference):
            await ctx.authorize(name, Scope.PROMOTE, actions="delete")
        tag = await queries.find_tag(ctx.session, repository, reference)
        if tag is None:
            raise ManifestUnknown(f"tag {reference} is not in {name}")
        await service.remove_alias(
            ctx.session, repository, tag, principal=ctx.principal, hooks=ctx.hooks
        )
    await ctx.session.commit()
    ctx.services.manifest_cache.clear()
    return Response(b"", status_code=202)
