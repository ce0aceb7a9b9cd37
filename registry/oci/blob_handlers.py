"""``/v2/<name>/blobs/...``: fetch with ranges, monolithic and chunked uploads, mount, delete."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, NoReturn

from litestar import Response
from litestar.response import Stream

from registry.audit.service import record, refuse
from registry.auth import Scope
from registry.cache import TTLCache
from registry.db.models import UploadSession
from registry.db.types import utcnow
from registry.digests import Digest
from registry.errors import (
    BlobCollected,
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    NameInvalid,
    QuotaExceeded,
    RangeInvalid,
)
from registry.http.deps import body_chunks
from registry.limits.middleware import client_address
from registry.naming import RepositoryName
from registry.oci import queries, quota, service
from registry.oci.context import OciContext
from registry.oci.hooks import Unreferenced
from registry.oci.quota import NamespaceUsage
from registry.storage import BlobStat, PresignedDownloads

OCTET = "application/octet-stream"
# At most 19 digits: a position past 2^63 is no position in any blob, and Python refuses
# to convert a string of more than 4,300 digits at all.
_RANGE_RE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")
_CONTENT_RANGE_RE = re.compile(r"(?:bytes[ =])?([0-9]{1,19})-([0-9]{1,19})(?:/[0-9]{1,19}|/\*)?")


def _range_header(size: int) -> str:
    # Distribution's convention: an empty upload reports "0-0".
    return f"0-{max(size - 1, 0)}"


async def get_blob(ctx: OciContext, name: RepositoryName, digest_text: str) -> Response[Any]:
    digest = Digest.parse(digest_text)
    await ctx.authorize(name, Scope.PULL)
    size = await _linked_size(ctx, name, digest)
    headers = {"Docker-Content-Digest": str(digest), "Accept-Ranges": "bytes"}
    start, end, status = 0, size, 200
    range_header = ctx.request.headers.get("range")
    if range_header:
        start, end = _parse_range(range_header, size)
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if ctx.request.method == "HEAD":
        return Response(b"", status_code=status, headers=headers, media_type=OCTET)
    # Charged before any redirect: presigned bytes count against the budget too.
    await ctx.services.limits.charge_download(
        end - start, token_id=ctx.principal.token_id, address=client_address(ctx.request.scope)
    )
    redirect = await _presigned_redirect(ctx, digest)
    if redirect is not None:
        return redirect
    return Stream(
        ctx.blobs.open(digest, start, end), status_code=status, headers=headers, media_type=OCTET
    )


async def _presigned_redirect(ctx: OciContext, digest: Digest) -> Response[Any] | None:
    """307 to a presigned URL of the blob's object, when the store and settings allow it.

    Called only once the caller may pull the blob and the blob is linked here (the
    checks above raise first), so no refused caller ever sees a URL. A ``Range``
    request is redirected too: the client sends the same header to the object
    store, which honours it (it was already checked against the size above).
    """
    seconds = ctx.settings.storage.s3_redirect_seconds
    if not seconds or not isinstance(ctx.blobs, PresignedDownloads):
        return None
    url = await ctx.blobs.download_url(digest, seconds)
    headers = {
        "Location": url,
        "Docker-Content-Digest": str(digest),
        # The URL is a credential for its lifetime: no shared cache may keep it.
        "Cache-Control": "no-store",
    }
    return Response(b"", status_code=307, headers=headers)


async def _linked_size(ctx: OciContext, name: RepositoryName, digest: Digest) -> int:
    """The size of a blob linked into the repository (cached: see registry.cache)."""
    cache: TTLCache[tuple[str, str], int] = ctx.services.blob_cache
    key = (name.full, str(digest))
    size = cache.get(key)
    if size is None:
        blob = await queries.linked_blob(ctx.session, name, str(digest))
        if blob is None:
            raise BlobUnknown(f"blob {digest} is not in repository {name}")
        size = blob.size
        cache.put(key, size)
    return size


def _parse_range(value: str, size: int) -> tuple[int, int]:
    """One ``bytes=a-b`` range -> [start, end); 416 if it cannot be satisfied."""
    match = _RANGE_RE.fullmatch(value.strip())
    unsatisfiable = RangeInvalid(f"range {value!r} cannot be satisfied for a {size}-byte blob")
    unsatisfiable.headers["Content-Range"] = f"bytes */{size}"
    if match is None or (not match.group(1) and not match.group(2)):
        raise unsatisfiable
    first, last = match.group(1), match.group(2)
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            raise unsatisfiable
        return max(size - length, 0), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if start >= size or end <= start:
        raise unsatisfiable
    return start, end


async def delete_blob(ctx: OciContext, name: RepositoryName, digest_text: str) -> Response[Any]:
    digest = Digest.parse(digest_text)
    await ctx.authorize(name, Scope.PUSH, actions="delete")
    repository = await ctx.repository(name)
    await service.unlink_blob(
        ctx.session, repository, name, str(digest), actor=ctx.principal.actor, hooks=ctx.hooks
    )
    await ctx.session.commit()
    ctx.services.blob_cache.discard((name.full, str(digest)))
    return Response(b"", status_code=202)


async def start_upload(ctx: OciContext, name: RepositoryName) -> Response[Any]:
    await ctx.authorize(name, Scope.PUSH)
    params = ctx.request.query_params
    mount, source = params.get("mount"), params.get("from")
    if mount is not None and source is not None:
        mounted = await _try_mount(ctx, name, Digest.parse(mount), source)
        if mounted is not None:
            return mounted
    digest_text = params.get("digest")
    if digest_text is not None:
        expected = Digest.parse(digest_text)
        room = await _room(ctx, name, expected)
        try:
            if room is not None:
                room = await _check_declared(ctx, name, room, 0)
            stat = await ctx.blobs.put(
                _within(ctx, name, body_chunks(ctx.request), 0, room),
                expected=expected,
                max_bytes=ctx.settings.oci.max_blob_bytes,
            )
        except QuotaExceeded as exc:
            await _refuse_quota(ctx, name, exc, expected, action="blob.push.refused")
        return await _finish(ctx, name, stat)
    repository = await queries.ensure_repository(ctx.session, name, actor=ctx.principal.actor)
    upload_id = await ctx.blobs.start_upload()
    queries.add_upload_session(ctx.session, upload_id, repository, actor=ctx.principal.actor)
    await ctx.session.commit()
    return Response(
        b"",
        status_code=202,
        headers={
            "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
            "Docker-Upload-UUID": upload_id,
            "Range": "0-0",
        },
    )


async def _try_mount(
    ctx: OciContext, name: RepositoryName, digest: Digest, source_text: str
) -> Response[Any] | None:
    """Link a blob from another repository; ``None`` falls back to a normal upload.

    A source the caller cannot read is treated exactly like a missing blob, so a
    mount attempt reveals nothing about repositories one cannot see.
    """
    try:
        source = RepositoryName.parse(source_text)
    except NameInvalid:
        return None
    if not await ctx.can_pull(source):
        return None
    blob = await queries.linked_blob(ctx.session, source, str(digest))
    if blob is None:
        return None
    try:
        return await _finish(ctx, name, BlobStat(digest, blob.size), mounted_from=source.full)
    except BlobCollected:  # collected since it was looked up: the client uploads it instead
        return None


async def _finish(
    ctx: OciContext, name: RepositoryName, stat: BlobStat, *, mounted_from: str | None = None
) -> Response[Any]:
    repository = await queries.ensure_repository(ctx.session, name, actor=ctx.principal.actor)
    # The digest's lock orders this link against the garbage collector, which removes a
    # blob's bytes and then its row under the same lock. A row that exists under the
    # lock still has its bytes; a row this transaction creates may follow a collection
    # that removed bytes the store had deduplicated this upload against: check them.
    await queries.lock_digest(ctx.session, str(stat.digest))
    try:
        await quota.require_room(
            ctx.session, repository.namespace_id, [("blob", str(stat.digest), stat.size)]
        )
    except QuotaExceeded as exc:
        action = "blob.mount.refused" if mounted_from else "blob.push.refused"
        await _refuse_quota(ctx, name, exc, stat.digest, action=action, stored=not mounted_from)
    created = await queries.link_blob(ctx.session, repository, str(stat.digest), stat.size)
    if created and await ctx.blobs.stat(stat.digest) is None:
        await ctx.session.rollback()
        raise BlobCollected(
            f"blob {stat.digest} was garbage-collected while this upload finished; upload it again",
            extra={"digest": str(stat.digest)},
        )
    if created:  # nothing references it yet: collected after the delay unless a manifest does
        await ctx.hooks.references_dropped(
            ctx.session, Unreferenced("blob.upload", blobs=(str(stat.digest),))
        )
    detail: dict[str, Any] = {"size": stat.size}
    if mounted_from:
        detail["mounted_from"] = mounted_from
    await record(
        ctx.session,
        actor=ctx.principal.actor,
        action="blob.mount" if mounted_from else "blob.push",
        subject=f"{name}@{stat.digest}",
        namespace=name.namespace,
        detail=detail,
    )
    await ctx.session.commit()
    return Response(
        b"",
        status_code=201,
        headers={
            "Location": f"/v2/{name}/blobs/{stat.digest}",
            "Docker-Content-Digest": str(stat.digest),
        },
    )


async def _room(
    ctx: OciContext, name: RepositoryName, digest: Digest | None = None
) -> NamespaceUsage | None:
    """The namespace's usage when it has a quota and ``digest`` is not already counted there
    (the early check, without a lock: see :mod:`registry.oci.quota`); else ``None``.

    The usage is the namespace's counter, one row read: the guard re-reads it under the
    namespace's lock when the blob is linked.
    """
    room = await quota.room_for(ctx.session, name.namespace)
    if room is None:
        return None
    if digest is not None and await quota.already_stored(
        ctx.session, name.namespace, "blob", str(digest)
    ):
        return None
    return room


def _fits(room: NamespaceUsage, total: int) -> NamespaceUsage:
    """``room`` if ``total`` bytes fit in it; else :class:`QuotaExceeded`."""
    remaining = room.remaining
    if remaining is None or total <= remaining:
        return room
    raise room.refusal(total)


async def _check_declared(
    ctx: OciContext, name: RepositoryName, room: NamespaceUsage, current: int
) -> NamespaceUsage | None:
    """Refuse a body whose declared length cannot fit, before reading any of it; the room
    to stream it in."""
    declared = ctx.request.headers.get("content-length", "")
    if declared.isdigit() and len(declared) <= 19:
        return _fits(room, current + int(declared))
    return room


async def _within(
    ctx: OciContext,
    name: RepositoryName,
    chunks: AsyncIterable[bytes],
    start: int,
    room: NamespaceUsage | None,
) -> AsyncIterator[bytes]:
    """``chunks``, refused (:class:`QuotaExceeded`) as soon as ``start`` plus the bytes seen
    pass the room left: a body without Content-Length cannot go past the quota either. The
    store discards what it received of a refused body."""
    total = start
    async for chunk in chunks:
        total += len(chunk)
        if room is not None:
            room = _fits(room, total)
        yield chunk


async def _refuse_quota(
    ctx: OciContext,
    name: RepositoryName,
    exc: QuotaExceeded,
    digest: Digest | str,
    *,
    action: str,
    stored: bool = False,
) -> NoReturn:
    """Roll back, audit the refusal, answer 409 ``DENIED`` (registry.audit.service.refuse)."""
    if stored:
        # Its bytes may already be in the store with no row: queued in the refusal's own
        # transaction, the collector removes them after the delay unless a push links them.
        await ctx.session.rollback()
        await ctx.hooks.references_dropped(
            ctx.session, Unreferenced("blob.push.refused", blobs=(str(digest),))
        )
        await ctx.session.commit()
    await refuse(
        ctx.session,
        exc,
        actor=ctx.principal.actor,
        action=action,
        subject=f"{name}@{digest}",
        namespace=name.namespace,
        detail={**exc.extra, "reason": exc.detail},
    )


async def _discard(ctx: OciContext, upload_id: str, row: UploadSession) -> None:
    """Drop an upload session and its bytes: a refused upload leaves nothing behind."""
    await ctx.blobs.abort_upload(upload_id)
    await queries.drop_upload_session(ctx.session, row)
    await ctx.session.commit()


async def _session(ctx: OciContext, name: RepositoryName, upload_id: str) -> UploadSession:
    repository = await queries.find_repository(ctx.session, name)
    row = await queries.upload_session(ctx.session, upload_id) if len(upload_id) <= 64 else None
    if row is None or repository is None or row.repository_id != repository.id:
        raise BlobUploadUnknown(f"upload {upload_id!r} is not known in {name}")
    return row


def _upload_headers(name: RepositoryName, upload_id: str, size: int) -> dict[str, str]:
    return {
        "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
        "Docker-Upload-UUID": upload_id,
        "Range": _range_header(size),
    }


async def _append(
    ctx: OciContext, name: RepositoryName, upload_id: str, room: NamespaceUsage | None
) -> int:
    """Append the request body to the session, honouring ``Content-Range``; within ``room``
    (:class:`QuotaExceeded` before storing a body that cannot fit, or as it passes it).

    The store checks the offset against the session's size itself (one listing
    of an S3 session per chunk, not two) and names that size when it refuses.
    """
    content_range = ctx.request.headers.get("content-range")
    if content_range:
        match = _CONTENT_RANGE_RE.fullmatch(content_range.strip())
        if match is None:
            raise BlobUploadInvalid(f"Content-Range {content_range!r} is not start-end")
        offset = int(match.group(1))
        if int(match.group(2)) < offset:
            raise BlobUploadInvalid(f"Content-Range {content_range!r} ends before it starts")
    else:  # no range: the chunk continues where the upload stands
        offset = await ctx.blobs.upload_size(upload_id)
    if room is not None:
        room = await _check_declared(ctx, name, room, offset)
    try:
        return await ctx.blobs.append_upload(
            upload_id,
            offset,
            _within(ctx, name, body_chunks(ctx.request), offset, room),
            max_bytes=ctx.settings.oci.max_blob_bytes,
        )
    except RangeInvalid as exc:
        received = exc.extra.get("received")
        if not isinstance(received, int):  # every store names it; ask if one did not
            received = await ctx.blobs.upload_size(upload_id)
        exc.headers.update(_upload_headers(name, upload_id, received))
        raise


async def patch_upload(ctx: OciContext, name: RepositoryName, upload_id: str) -> Response[Any]:
    await ctx.authorize(name, Scope.PUSH)
    row = await _session(ctx, name, upload_id)
    room = await _room(ctx, name)
    try:
        size = await _append(ctx, name, upload_id, room)
    except QuotaExceeded as exc:
        await _discard(ctx, upload_id, row)
        await _refuse_quota(ctx, name, exc, f"upload:{upload_id}", action="blob.push.refused")
    row.updated_at = utcnow()
    await ctx.session.commit()
    return Response(b"", status_code=202, headers=_upload_headers(name, upload_id, size))


async def upload_status(ctx: OciContext, name: RepositoryName, upload_id: str) -> Response[Any]:
    await ctx.authorize(name, Scope.PUSH)
    await _session(ctx, name, upload_id)
    size = await ctx.blobs.upload_size(upload_id)
    return Response(b"", status_code=204, headers=_upload_headers(name, upload_id, size))


async def close_upload(ctx: OciContext, name: RepositoryName, upload_id: str) -> Response[Any]:
    await ctx.authorize(name, Scope.PUSH)
    row = await _session(ctx, name, upload_id)
    digest_text = ctx.request.query_params.get("digest")
    if digest_text is None:
        raise BlobUploadInvalid("closing an upload needs ?digest=")
    expected = Digest.parse(digest_text)
    room = await _room(ctx, name, expected)
    length = ctx.request.headers.get("content-length")
    try:
        if ctx.request.headers.get("content-range") or (length is not None and length != "0"):
            await _append(ctx, name, upload_id, room)
        if room is not None:  # chunks pushed before the quota was lowered, or in parallel
            _fits(room, await ctx.blobs.upload_size(upload_id))
    except QuotaExceeded as exc:
        await _discard(ctx, upload_id, row)
        await _refuse_quota(ctx, name, exc, expected, action="blob.push.refused")
    try:
        stat = await ctx.blobs.finish_upload(upload_id, expected)
    finally:
        # The session is consumed whether the digest matched or not.
        await queries.drop_upload_session(ctx.session, row)
        await ctx.session.commit()
    return await _finish(ctx, name, stat)


async def cancel_upload(ctx: OciContext, name: RepositoryName, upload_id: str) -> Response[Any]:
    await ctx.authorize(name, Scope.PUSH)
    row = await _session(ctx, name, upload_id)
    await ctx.blobs.abort_upload(upload_id)
    await queries.drop_upload_session(ctx.session, row)
    await ctx.session.commit()
    return Response(b"", status_code=204)
