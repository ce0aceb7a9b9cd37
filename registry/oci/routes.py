"""``/v2/`` routing.

Repository names contain a slash, so one catch-all route per method parses the
path as received (the router would collapse ``//`` and hide traversal) and
dispatches on a small table of patterns, as every OCI registry does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from litestar import Request, Response, Router, route
from litestar.datastructures import State

from registry.auth.deps import Caller, provide_principal
from registry.errors import NameUnknown, Unauthorized, Unsupported
from registry.naming import RepositoryName
from registry.oci import blob_handlers, discovery, manifest_handlers
from registry.oci.context import OciContext, challenge
from registry.oci.token_endpoint import issue_token
from registry.services import services_of

Handler = Callable[..., Awaitable[Response[Any]]]

# (pattern, {method: handler}); handlers take (ctx, name, *groups).
_ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (
        re.compile(r"^/(?P<name>.+)/blobs/uploads/?\Z"),
        {"POST": blob_handlers.start_upload},
    ),
    (
        re.compile(r"^/(?P<name>.+)/blobs/uploads/(?P<id>[^/]+)\Z"),
        {
            "GET": blob_handlers.upload_status,
            "PATCH": blob_handlers.patch_upload,
            "PUT": blob_handlers.close_upload,
            "DELETE": blob_handlers.cancel_upload,
        },
    ),
    (
        re.compile(r"^/(?P<name>.+)/blobs/(?P<digest>[^/]+)\Z"),
        {
            "GET": blob_handlers.get_blob,
            "HEAD": blob_handlers.get_blob,
            "DELETE": blob_handlers.delete_blob,
        },
    ),
    (
        re.compile(r"^/(?P<name>.+)/manifests/(?P<reference>[^/]+)\Z"),
        {
            "GET": manifest_handlers.get_manifest,
            "HEAD": manifest_handlers.get_manifest,
            "PUT": manifest_handlers.put_manifest,
            "DELETE": manifest_handlers.delete_manifest,
        },
    ),
    (re.compile(r"^/(?P<name>.+)/tags/list/?\Z"), {"GET": discovery.list_tags}),
    (
        re.compile(r"^/(?P<name>.+)/referrers/(?P<digest>[^/]+)\Z"),
        {"GET": discovery.list_referrers},
    ),
]


def _rest(request: Request[Any, Any, Any]) -> str:
    raw: bytes | None = request.scope.get("raw_path")
    # Some transports put the query string in raw_path; the path ends at "?".
    path = unquote(raw.split(b"?", 1)[0].decode("latin-1")) if raw else request.scope["path"]
    return path[len("/v2") :]


@route("/v2", http_method=["GET", "HEAD"], include_in_schema=False)
async def v2_base(request: Request[Any, Any, Any], principal: Caller) -> Response[dict[str, Any]]:
    """API version check; 401 tells a client without credentials where to get a token."""
    if principal.is_anonymous:
        error = Unauthorized("authentication required")
        error.headers["WWW-Authenticate"] = challenge(request)
        raise error
    return Response({}, headers={"Docker-Distribution-API-Version": "registry/2.0"})


@route(
    "/v2/{rest:path}",
    http_method=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
    status_code=200,  # handlers set their own; a multi-method route would default to 201
)
async def v2_dispatch(request: Request[Any, Any, State]) -> Response[Any]:
    # Blob store, settings and hooks come straight from the app's services: declaring them
    # as dependencies costs a task per request and a runtime Protocol check (measured).
    services = services_of(request.app)
    # Called directly rather than injected: the hot path skips the DI machinery.
    principal = await provide_principal(request)
    rest = _rest(request)
    for pattern, handlers in _ROUTES:
        match = pattern.fullmatch(rest)  # "$" alone would accept a trailing newline
        if match is None:
            continue
        handler = handlers.get(request.method)
        if handler is None:
            raise Unsupported(f"{request.method} is not supported on this endpoint")
        groups = match.groupdict()
        name = RepositoryName.parse(groups.pop("name"))
        ctx = OciContext(
            request=request,
            principal=principal,
            sessionmaker=services.sessionmaker,
            blobs=services.blobs,
            settings=services.settings,
            hooks=services.oci_hooks,
            versions=services.versions,
            services=services,
        )
        try:
            return await handler(ctx, name, *groups.values())
        finally:
            await ctx.close()
    raise NameUnknown(f"no /v2/ endpoint matches {rest!r}")


def oci_router() -> Router:
    return Router(path="/", route_handlers=[v2_base, v2_dispatch, issue_token])
