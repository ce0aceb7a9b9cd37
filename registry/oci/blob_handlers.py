"""``/v2/<name>/blobs/...``: fetch with ranges, monolithic and chunked uploads, mount, delete."""

from __future__ import annotations

import re
from typing import Any

from litestar import Response
from litestar.response import Stream

from registry.audit.service import record
from registry.auth import Scope
from registry.cache import TTLCache
from registry.db.models import UploadSession
from registry.db.types import utcnow
from registry.digests import Digest
from registry.errors import (
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    NameInvalid,
    RangeInvalid,
)
from registry.http.deps import body_chunks
from registry.naming import RepositoryName
from registry.oci import queries, service
from registry.oci.context import OciContext
from registry.storage import BlobStat

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
    return Stream(
        ctx.blobs.open(digest, start, end), status_code=status, headers=headers, media_type=OCTET
    )


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
    await service.unlink_blob(ctx.session, repository, name, str(digest), actor=ctx.principal.actor)
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
        stat = await ctx.blobs.put(
            body_chunks(ctx.request), expected=expected, max_bytes=ctx.settings.oci.max_blob_bytes
        )
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
    return await _finish(ctx, name, BlobStat(digest, blob.size), mounted_from=source.full)


async def _finish(
    ctx: OciContext, name: RepositoryName, stat: BlobStat, *, mounted_from: str | None = None
) -> Response[Any]:
    repository = await queries.ensure_repository(ctx.session, name, actor=ctx.principal.actor)
    await queries.link_blob(ctx.session, repository, str(stat.digest), stat.size)
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


async def _append(ctx: OciContext, name: RepositoryName, upload_id: str) -> int:
    """Append the request body to the session, honouring ``Content-Range``.

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
    try:
        return await ctx.blobs.append_upload(
            upload_id, offset, body_chunks(ctx.request), max_bytes=ctx.settings.oci.max_blob_bytes
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
    size = await _append(ctx, name, upload_id)
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
    length = ctx.request.headers.get("content-length")
    if ctx.request.headers.get("content-range") or (length is not None and length != "0"):
        await _append(ctx, name, upload_id)
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
