"""Content discovery: ``tags/list`` with pagination and ``referrers`` with filtering."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Response

from registry.auth import Scope
from registry.digests import Digest
from registry.http.params import parse_count
from registry.naming import RepositoryName
from registry.oci import mediatypes as mt
from registry.oci import queries
from registry.oci.context import OciContext

MAX_PAGE = 1000


async def list_tags(ctx: OciContext, name: RepositoryName) -> Response[Any]:
    await ctx.authorize(name, Scope.PULL)
    repository = await ctx.repository(name)
    params = ctx.request.query_params
    n_text, last = params.get("n"), params.get("last")
    limit: int | None = None
    if n_text is not None:
        limit = min(parse_count(n_text, "n"), MAX_PAGE)
    tags = await queries.list_tags(ctx.session, repository, limit=limit, last=last)
    headers: dict[str, str] = {}
    if limit and len(tags) == limit:
        more = await queries.list_tags(ctx.session, repository, limit=1, last=tags[-1])
        if more:
            query = urlencode({"n": limit, "last": tags[-1]})
            headers["Link"] = f'</v2/{name}/tags/list?{query}>; rel="next"'
    return Response({"name": name.full, "tags": tags}, headers=headers)


async def list_referrers(ctx: OciContext, name: RepositoryName, digest_text: str) -> Response[Any]:
    subject = Digest.parse(digest_text)
    await ctx.authorize(name, Scope.PULL)
    artifact_type = ctx.request.query_params.get("artifactType")
    repository = await queries.find_repository(ctx.session, name)
    manifests = (
        await queries.referrers(ctx.session, repository, str(subject), artifact_type)
        if repository is not None
        else []
    )
    descriptors = []
    for manifest in manifests:
        descriptor: dict[str, Any] = {
            "mediaType": manifest.media_type,
            "digest": manifest.digest,
            "size": manifest.size,
        }
        if manifest.artifact_type:
            descriptor["artifactType"] = manifest.artifact_type
        if manifest.annotations:
            descriptor["annotations"] = manifest.annotations
        descriptors.append(descriptor)
    headers = {"OCI-Filters-Applied": "artifactType"} if artifact_type is not None else {}
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": descriptors}
    return Response(index, headers=headers, media_type=mt.OCI_INDEX)
