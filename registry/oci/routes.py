"""``/v2/`` routing.

Repository names contain slashes, so one catch-all route per method parses the
rest of the path itself (as every OCI registry does) and dispatches.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from litestar import Request, Response, Router, route
from litestar.datastructures import State
from litestar.response import Stream

from registry.audit import record
from registry.auth import Scope
from registry.digests import Digest
from registry.errors import BlobUnknown, NameInvalid, NameUnknown, Unauthorized, Unsupported
from registry.http.deps import AppSettings, Blobs, Caller, DbSession, body_chunks
from registry.naming import RepositoryName
from registry.oci import repositories

_UPLOADS = re.compile(r"^/(?P<name>.+)/blobs/uploads/?$")
_BLOB = re.compile(r"^/(?P<name>.+)/blobs/(?P<digest>[^/]+)$")

OCTET = "application/octet-stream"


@route("/v2", http_method=["GET", "HEAD"], include_in_schema=False)
async def v2_base(principal: Caller) -> Response[dict[str, Any]]:
    """API version check; 401 tells a client without credentials to authenticate."""
    if principal.is_anonymous:
        raise Unauthorized("authentication required")
    return Response({}, headers={"Docker-Distribution-API-Version": "registry/2.0"})


def _rest(request: Request[Any, Any, Any]) -> str:
    # The router collapses "//"; parse the path as received so "/v2//etc" is seen as it is.
    raw: bytes | None = request.scope.get("raw_path")
    # Some transports put the query string in raw_path; the path ends at "?".
    path = unquote(raw.split(b"?", 1)[0].decode("latin-1")) if raw else request.scope["path"]
    return path[len("/v2") :]


def _match(pattern: re.Pattern[str], rest: str) -> re.Match[str] | None:
    return pattern.match(rest)


def _name(match: re.Match[str]) -> RepositoryName:
    return RepositoryName.parse(match.group("name"))


async def _require_pull(db_session: DbSession, principal: Caller, name: RepositoryName) -> None:
    namespace = await repositories.find_namespace(db_session, name.namespace)
    anonymous_ok = namespace is not None and namespace.anonymous_pull
    principal.require(name.namespace, Scope.PULL, anonymous_ok=anonymous_ok)


@route("/v2/{rest:path}", http_method=["GET", "HEAD"], include_in_schema=False)
async def v2_read(
    request: Request[Any, Any, State],
    principal: Caller,
    db_session: DbSession,
    blobs: Blobs,
) -> Response[Any]:
    rest = _rest(request)
    if match := _match(_BLOB, rest):
        name = _name(match)
        digest = Digest.parse(match.group("digest"))
        await _require_pull(db_session, principal, name)
        blob = await repositories.linked_blob(db_session, name, str(digest))
        if blob is None:
            raise BlobUnknown(f"blob {digest} is not in repository {name}")
        headers = {
            "Docker-Content-Digest": str(digest),
            "Content-Length": str(blob.size),
            "Accept-Ranges": "bytes",
        }
        if request.method == "HEAD":
            return Response(b"", headers=headers, media_type=OCTET)
        return Stream(blobs.open(digest), headers=headers, media_type=OCTET)
    raise _unknown_route(rest)


@route("/v2/{rest:path}", http_method=["POST"], include_in_schema=False)
async def v2_post(
    request: Request[Any, Any, State],
    principal: Caller,
    db_session: DbSession,
    blobs: Blobs,
    settings: AppSettings,
) -> Response[Any]:
    rest = _rest(request)
    if match := _match(_UPLOADS, rest):
        name = _name(match)
        principal.require(name.namespace, Scope.PUSH)
        digest_param = request.query_params.get("digest")
        if digest_param is None:
            raise Unsupported("only monolithic uploads (POST with ?digest=) are supported yet")
        expected = Digest.parse(digest_param)
        # Stream first (nothing is visible unless the digest matches), then record.
        stat = await blobs.put(
            body_chunks(request), expected=expected, max_bytes=settings.max_blob_bytes
        )
        repository = await repositories.ensure_repository(db_session, name, actor=principal.actor)
        await repositories.link_blob(db_session, repository, str(stat.digest), stat.size)
        await record(
            db_session,
            actor=principal.actor,
            action="blob.push",
            subject=f"{name}@{stat.digest}",
            namespace=name.namespace,
            detail={"size": stat.size},
        )
        await db_session.commit()
        return Response(
            b"",
            status_code=201,
            headers={
                "Location": f"/v2/{name}/blobs/{stat.digest}",
                "Docker-Content-Digest": str(stat.digest),
            },
        )
    raise _unknown_route(rest)


def _unknown_route(rest: str) -> NameUnknown | NameInvalid:
    return NameUnknown(f"no /v2/ endpoint matches {rest!r}")


def oci_router() -> Router:
    return Router(path="/", route_handlers=[v2_base, v2_read, v2_post])
