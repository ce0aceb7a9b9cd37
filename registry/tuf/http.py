"""``GET /tuf/...``: the TUF metadata, with consistent snapshots.

``timestamp.json`` and ``N.{root,snapshot,targets}.json`` are public; a
namespace's ``N.<namespace>.json`` needs pull rights on the namespace unless it
allows anonymous pull (same credentials as ``/v2/``). Anything else is 404.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.params import PathParameter

from registry.auth import Scope
from registry.auth.deps import provide_principal
from registry.errors import NameInvalid
from registry.http.deps import AppServices
from registry.http.openapi import OPTIONAL_TOKEN, problems
from registry.naming import validate_namespace
from registry.services import Services
from registry.tuf import bins
from registry.tuf.errors import MetadataUnknown

_VERSIONED = re.compile(r"^(?P<version>[1-9][0-9]{0,9})\.(?P<role>[^/]+)\.json\Z")
_MAX_VERSION = 2**31 - 1
_PUBLIC = frozenset({"root", "snapshot", "targets"})
_JSON = "application/json"


MetadataName = Annotated[
    str,
    PathParameter(
        description="timestamp.json, or VERSION.ROLE.json (consistent snapshots)",
        schema_extra={"pattern": r"^(?:timestamp|[1-9][0-9]{0,9}\.[^/]+)\.json$"},
    ),
]


@get(
    "/tuf/{filename:str}",
    include_in_schema=True,
    summary="TUF metadata",
    security=OPTIONAL_TOKEN,
    responses=problems(400, 401, 403, 404),
)
async def tuf_metadata(
    request: Request[Any, Any, Any], services: AppServices, filename: MetadataName
) -> Response[bytes]:
    service = services.tuf
    if filename == "timestamp.json":
        data = await service.timestamp()
        return Response(data, media_type=_JSON, headers={"Cache-Control": "no-store"})
    match = _VERSIONED.match(filename)
    # Versions are 32-bit in SQL: a larger one names nothing (and must not reach the query).
    if match is None or match["role"] == "timestamp" or int(match["version"]) > _MAX_VERSION:
        raise MetadataUnknown(f"{filename} is not TUF metadata this registry serves")
    role, version = match["role"], int(match["version"])
    audience = "public"
    if role not in _PUBLIC:
        await _require_pull(request, services, role)
        audience = "private"
    data = await service.versioned(role, version)
    # A version's bytes never change (consistent snapshots).
    cache = f"{audience}, max-age=31536000, immutable"
    return Response(data, media_type=_JSON, headers={"Cache-Control": cache})


async def _require_pull(request: Request[Any, Any, Any], services: Services, role: str) -> None:
    try:
        namespace = validate_namespace(bins.namespace_of(role))
    except NameInvalid:
        raise MetadataUnknown(f"there is no TUF role {role!r}") from None
    principal = await provide_principal(request)
    if principal.allows(namespace, Scope.PULL):
        return
    principal.require(
        namespace, Scope.PULL, anonymous_ok=await services.anonymous_pull.allowed(namespace)
    )
