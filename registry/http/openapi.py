"""What the published OpenAPI document (``/api/v1/openapi/openapi.json``) says, in one place.

Handlers declare their security (``security=TOKEN`` or ``OPTIONAL_TOKEN``), the error
statuses they can answer (``responses=problems(...)``: RFC 9457 problem details with
:class:`ProblemDetails` as the shared schema) and their path parameters with the types
below, whose patterns are the grammars :mod:`registry.naming` and
:mod:`registry.digests` enforce. The patterns are description only (``schema_extra``):
the handlers' own validation stays the one that answers, with its typed error.

``/v2/`` and ``/auth/token`` are not in the document: they follow the OCI Distribution
specification, which is their description.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.params import PathParameter, QueryParameter

from registry.http.docs import DOCS_PATH
from registry.http.problems import PROBLEM_JSON
from registry.naming import MAX_COMPONENT, RESERVED_NAMESPACES
from signing.media_types import CYCLONEDX_JSON

__all__ = [
    "DIGEST_PATTERN",
    "OPTIONAL_TOKEN",
    "PUBLIC",
    "TAG_PATTERN",
    "TOKEN",
    "DigestPath",
    "ModelPath",
    "NamespacePath",
    "OutputUpload",
    "ProblemDetails",
    "ReprintUpload",
    "SbomUpload",
    "TagPath",
    "int_query",
    "openapi_config",
    "problems",
]

BEARER = "bearerToken"
BASIC = "basicToken"

#: A Custody token is needed (as a Bearer token, or as the password of HTTP Basic).
TOKEN: list[SecurityRequirement] = [{BEARER: []}, {BASIC: []}]
#: Anonymous callers are served what is public; a token may show more. A token that is
#: sent is always checked: an invalid, expired or revoked one gets 401.
OPTIONAL_TOKEN: list[SecurityRequirement] = [{}, *TOKEN]
#: No credentials are read at all.
PUBLIC: list[SecurityRequirement] = [{}]

# The grammars of registry/naming.py and registry/digests.py, as ECMA-262 patterns.
COMPONENT_PATTERN = r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$"
TAG_PATTERN = r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$"
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"

_NAMESPACE_SCHEMA: dict[str, Any] = {
    "pattern": COMPONENT_PATTERN,
    "minLength": 1,
    "maxLength": MAX_COMPONENT,
    "not": {"enum": sorted(RESERVED_NAMESPACES)},
}

NamespacePath = Annotated[
    str,
    PathParameter(
        description="A namespace: lower-case letters and digits separated by . _ __ or -; "
        "TUF's role names (root, targets, snapshot, timestamp) are reserved.",
        schema_extra=_NAMESPACE_SCHEMA,
    ),
]
ModelPath = Annotated[
    str,
    PathParameter(
        description="A model in its namespace (the repository is <namespace>/<model>, "
        "at most 255 characters in all).",
        schema_extra={"pattern": COMPONENT_PATTERN, "minLength": 1, "maxLength": MAX_COMPONENT},
    ),
]
TagPath = Annotated[
    str,
    PathParameter(
        description="A tag (OCI tag grammar): a version such as 1.4.0, or an alias.",
        schema_extra={"pattern": TAG_PATTERN, "minLength": 1, "maxLength": 128},
    ),
]
DigestPath = Annotated[
    str,
    PathParameter(
        description="A content digest, sha256:<64 lower-case hex digits>.",
        schema_extra={"pattern": DIGEST_PATTERN, "minLength": 71, "maxLength": 71},
    ),
]


def int_query(*, ge: int, le: int | None = None, description: str | None = None) -> Any:
    """A bounded integer query parameter whose published bounds are exact integers.

    Litestar writes ``ge``/``le`` into the schema as floats, and ``float(2**63 - 1)``
    is ``2**63``: the exact values go in through ``schema_extra``.
    """
    extra: dict[str, Any] = {"minimum": ge}
    if le is not None:
        extra["maximum"] = le
    return QueryParameter(ge=ge, le=le, description=description, schema_extra=extra)


class ProblemDetails(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem: every error outside ``/v2/`` (``application/problem+json``).

    Errors may add members: ``errors`` (the invalid parameters of a 400) or the
    failed checks of a policy refusal.
    """

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str


_DESCRIPTIONS = {
    400: "The request is malformed: an invalid name, tag, digest, parameter or body.",
    401: "Authentication is required, or the token sent is invalid, expired or revoked.",
    403: "The token does not grant the scope this operation needs.",
    404: "The namespace, model, version, alias or record does not exist (or is not visible).",
    409: "The change conflicts with the registry's state (versions are immutable).",
    412: "Policy blocks it: the alias's version no longer satisfies the trust policy.",
    413: "The body is larger than the registry accepts.",
    415: "The body's media type is not one this operation takes.",
    422: "Understood but refused (policy, or a policy file that does not load).",
    429: "A rate limit is spent (requests per second of the token or address, failed "
    "authentications from the address, or the download budget): retry after Retry-After "
    "seconds.",
    503: "The feature is not configured or not available (e.g. the reprint hub is off).",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem-details responses for ``statuses``, for a handler's ``responses=``.

    429 is added to every operation: the rate limits (registry.limits) apply to them all.
    """
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in dict.fromkeys((*statuses, 429))
    }


# Handlers that read their body as a stream declare no ``data``, so Litestar knows no request
# body: these operation classes describe it.
_BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
_JSON_TEXT = Schema(type=OpenAPIType.STRING, description="A JSON document")


def _multipart(required: list[str], **parts: Schema) -> OpenAPIMediaType:
    return OpenAPIMediaType(
        schema=Schema(type=OpenAPIType.OBJECT, properties=dict(parts), required=required)
    )


@dataclass
class OutputUpload(Operation):
    """``POST /outputs``: multipart parts, or a whole C2PA image."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="manifest (DSSE envelope) and latents (JSON array of envelopes), with "
            "an optional image; or an image carrying C2PA credentials.",
            content={
                "multipart/form-data": _multipart(
                    [], manifest=_JSON_TEXT, latents=_JSON_TEXT, image=_BINARY
                ),
                "image/png": OpenAPIMediaType(schema=_BINARY),
                "image/jpeg": OpenAPIMediaType(schema=_BINARY),
            },
        )


@dataclass
class ReprintUpload(Operation):
    """``POST /reprints``: the reprint request and the image."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="request (JSON: reprinter, commercial, derivative, attribution) and "
            "image (the exact bytes, or a C2PA-credentialed derivative).",
            content={
                "multipart/form-data": _multipart(
                    ["request", "image"], request=_JSON_TEXT, image=_BINARY
                )
            },
        )


@dataclass
class SbomUpload(Operation):
    """``POST .../sbom``: a CycloneDX JSON document."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="A CycloneDX 1.6 or 1.7 JSON BOM.",
            content={CYCLONEDX_JSON: OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT))},
        )


def openapi_config(
    version: str, render_plugins: Sequence[OpenAPIRenderPlugin] = ()
) -> OpenAPIConfig:
    """The document's frame: title, version, where it and its pages are served, the security
    schemes."""
    return OpenAPIConfig(
        title="Custody registry",
        version=version,
        path=DOCS_PATH,
        render_plugins=list(render_plugins),
        description=(
            "The model lifecycle API, the reprint hub, the transparency log and TUF "
            "metadata. Errors are RFC 9457 problem details (application/problem+json). "
            "The OCI Distribution API under /v2/ follows its own specification."
        ),
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="A Custody API token (cst_...), or an access token "
                    "from /auth/token.",
                ),
                BASIC: SecurityScheme(
                    type="http",
                    scheme="basic",
                    description="Any user name, a Custody API token as the password "
                    "(what OCI clients send).",
                ),
            }
        ),
    )
