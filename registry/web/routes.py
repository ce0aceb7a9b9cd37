"""The pages under ``/ui``: handlers that call the API's own services and render templates.

Each page asks what the matching JSON handler asks, with the same rights (the caller
comes from the session cookie instead of the ``Authorization`` header; see
:mod:`registry.web.session`), and renders the same read models. Nothing here decides
anything the API does not.

Paths under ``/ui/-/`` (login, logout, verify, outputs, log, audit, policies, static files) can
never be a namespace: a namespace name starts with a letter or digit.

The one form that acts with the session's rights (moving an alias) carries the session's
form token and passes the origin check (:func:`registry.web.session.check_form_token`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Request, Response, Router, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Body, FromPath, QueryParameter
from litestar.response import Redirect, Stream, Template
from litestar.static_files import create_static_files_router

from registry.audit.queries import subject_events
from registry.auth import Principal, Scope
from registry.auth.deps import principal_for
from registry.db.models import AuditEvent
from registry.digests import Digest
from registry.errors import BadRequest, NotFound, RegistryError, TooManyRequests, Unauthorized
from registry.http.deps import AppServices, Blobs, DbSession
from registry.http.params import MAX_INT64
from registry.http.problems import handle_http_exception
from registry.hub import queries as hub_queries
from registry.hub.lookup import attribution
from registry.hub.registration import output_summary
from registry.lifecycle import queries as lifecycle_queries
from registry.lifecycle import service as lifecycle_service
from registry.lifecycle.api import load_model
from registry.lifecycle.schemas import AliasMoveRequest
from registry.limits.middleware import client_address
from registry.namespaces.audit_api import audit_page as read_audit_page
from registry.namespaces.service import namespace_named
from registry.oci import mediatypes as mt
from registry.oci import queries as oci_queries
from registry.policies_in_force.api import policy_status
from registry.sbom import service as sbom_service
from registry.tuf.catalog import namespace_targets
from registry.verification.decisions import Decision, check_alias
from registry.verification.errors import PromotionRefused
from registry.verification.signer_search import MAX_SIGNER_LENGTH
from registry.web import session
from registry.web.log_entry import log_entry_page, parse_index
from registry.web.queries import browsable_namespaces

__all__ = [
    "AUDIT_PATH",
    "LOGIN_PATH",
    "LOG_PATH",
    "OUTPUTS_PATH",
    "POLICIES_PATH",
    "STATIC_PATH",
    "VERIFY_PATH",
    "unrouted",
    "web_handlers",
]

LOGIN_PATH = "/ui/-/login"
LOGOUT_PATH = "/ui/-/logout"
VERIFY_PATH = "/ui/-/verify"
STATIC_PATH = "/ui/-/static"
OUTPUTS_PATH = "/ui/-/outputs"
AUDIT_PATH = "/ui/-/audit"
POLICIES_PATH = "/ui/-/policies"
LOG_PATH = "/ui/-/log"
#: The log API's inclusion proof of one entry (the evidence links of the provenance page).
_PROOF_API = "/api/v1/log/proof/inclusion?index="
#: Outputs the version page lists (the rest through ``GET /api/v1/outputs``).
_OUTPUTS_SHOWN = 100
#: Versions the model page shows at once (newest first; ``?page=`` for older ones).
_VERSIONS_PER_PAGE = 100
#: Audit events per page.
_AUDIT_PER_PAGE = 50
_STATIC_DIR = Path(__file__).parent / "static"
#: What the model page's alias history shows (read with the audit API's rights: admin).
_ALIAS_ACTIONS = ("alias.move", "alias.delete", "alias.decision", "alias.refused")
#: Versions the namespace page lists for a search (the total says when there are more).
_HITS_PER_PAGE = 500
_SEARCH_FACTS = ("license", "dataset", "supplier", "opset", "component", "signer")
#: Every page: nothing from another origin, no framing, nothing cached (pages show private data).
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
#: The verify page also runs the C2PA reader (WebAssembly compiled from our own static file:
#: 'wasm-unsafe-eval') in a worker that c2pa-web starts from a blob of its own served module
#: (worker-src blob:). Only this page gets those two (ADR 0013, Decision 6).
_VERIFY_HEADERS = {
    **_PAGE_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src blob:; "
        "style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

Viewer = NamedDependency[Principal]


def _page(
    name: str,
    request: Request[Any, Any, Any],
    viewer: Principal,
    status: int = 200,
    headers: dict[str, str] = _PAGE_HEADERS,
    **context: Any,
) -> Template:
    return Template(
        template_name=name,
        context={
            "viewer": viewer,
            "here": _here(request),
            "login_path": LOGIN_PATH,
            "logout_path": LOGOUT_PATH,
            "static": STATIC_PATH,
            **context,
        },
        status_code=status,
        headers=headers,
    )


def _here(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _login_redirect(request: Request[Any, Any, Any]) -> Redirect:
    return Redirect(f"{LOGIN_PATH}?next={quote(_here(request), safe='/')}", status_code=303)


async def _require_pull(services: Any, viewer: Principal, namespace: str) -> None:
    if not viewer.allows(namespace, Scope.PULL):
        allowed = await services.anonymous_pull.allowed(namespace)
        viewer.require(namespace, Scope.PULL, anonymous_ok=allowed)


def page_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors as pages: no credential -> the login page; anything else -> a page with its status."""
    if isinstance(exc, Unauthorized):
        response: Response[Any] = _login_redirect(request)
        if request.cookies.get(session.COOKIE):
            session.clear_session(request, response)  # the token was revoked or has expired
        return response
    if isinstance(exc, RegistryError) and exc.status_code < 500:
        status, title, detail = exc.status_code, exc.title, exc.detail
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        status, title, detail = exc.status_code, "Request refused", exc.detail
    else:
        status, title, detail = 500, "Internal error", "the registry could not build this page"
    return _page("error.html", request, Principal.anonymous(), status, title=title, detail=detail)


def unrouted(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    """A path no route matches: a 404 page under ``/ui``, the API's usual answer elsewhere
    (an app-level handler: a request no route matched never reaches the pages' router)."""
    path = request.url.path
    if path == "/ui" or path.startswith("/ui/"):
        return page_error(request, exc)
    return handle_http_exception(request, exc)


@get("/", include_in_schema=False, sync_to_thread=False)
def root() -> Redirect:
    """The registry's address in a browser: its pages."""
    return Redirect("/ui", status_code=303)


@get("", include_in_schema=False)
async def namespaces_page(
    request: Request[Any, Any, Any], viewer: Viewer, db_session: DbSession
) -> Template:
    rows = await browsable_namespaces(db_session, viewer)
    return _page("namespaces.html", request, viewer, namespaces=rows)


@get("/-/login", include_in_schema=False, sync_to_thread=False)
def login_page(
    request: Request[Any, Any, Any],
    next_page: Annotated[str | None, QueryParameter(name="next", max_length=2048)] = None,
) -> Template:
    return _login_form(request, session.safe_next(next_page))


def _login_form(
    request: Request[Any, Any, Any], next_page: str, error: str | None = None, status: int = 200
) -> Template:
    if error is None and not session.is_secure_transport(request):
        error = (
            "This registry is served over plain http to a remote address: a token sent here "
            "would travel in the clear, and your browser will not keep the session cookie. "
            "Use its https address."
        )
    return _page(
        "login.html",
        request,
        Principal.anonymous(),
        status,
        next_page=next_page,
        error=error,
    )


@get("/-/verify", include_in_schema=False, sync_to_thread=False)
def verify_page(request: Request[Any, Any, Any], viewer: Viewer) -> Template:
    """The public provenance page: the browser hashes an image and checks the hub's
    attribution and its log receipt itself (``static/verify.js``); nothing is looked up here."""
    return _page("verify.html", request, viewer, headers=_VERIFY_HEADERS)


@get("/-/verify/c2pa-anchors.pem", include_in_schema=False, sync_to_thread=False)
def c2pa_anchors(services: AppServices) -> Response[bytes]:
    """The hub's C2PA trust anchors (``CUSTODY_C2PA_TRUST_ANCHORS``; public CA certificates),
    so that the verify page validates Content Credentials against the same list; 404 when
    the hub has none (the page then says trust is the hub's to check)."""
    anchors = services.hub.trust_anchors_pem
    if anchors is None:
        raise NotFound("this hub has no C2PA trust anchors (CUSTODY_C2PA_TRUST_ANCHORS)")
    return Response(
        anchors,
        media_type="application/x-pem-file",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )


@dataclass
class LoginForm:
    token: str = ""
    next: str = "/ui"


@post("/-/login", include_in_schema=False, status_code=303)
async def login(
    request: Request[Any, Any, Any],
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    services: AppServices,
) -> Response[Any]:
    session.check_same_origin(request)
    next_page = session.safe_next(data.next)
    token = data.token.strip()
    if not session.is_secure_transport(request):
        return _login_form(request, next_page, status=400)
    if not token or len(token) > 512 or not token.isascii() or not token.isprintable():
        return _login_form(request, next_page, "Enter a Custody token.", 400)
    # Counted like a failed credential on the API: a form is no way around the block.
    address = client_address(request.scope)
    try:
        await services.limits.refuse_if_blocked(address)
        viewer = await principal_for(services, f"Bearer {token}")
    except TooManyRequests as exc:
        refused = _login_form(request, next_page, f"{exc.detail}.", 429)
        refused.headers.update(exc.headers)
        return refused
    except Unauthorized as exc:
        await services.limits.auth_failed(address)
        return _login_form(request, next_page, f"That token was refused: {exc.detail}.", 401)
    if viewer.grants is not None:
        return _login_form(
            request, next_page, "Log in with an API token, not an access token.", 400
        )
    response = Redirect(next_page, status_code=303)
    session.start_session(request, response, token)
    return response


@post("/-/logout", include_in_schema=False, status_code=303, sync_to_thread=False)
def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    session.check_same_origin(request)
    response = Redirect("/ui", status_code=303)
    session.clear_session(request, response)
    return response


@get("/{namespace:str}", include_in_schema=False)
async def namespace_page(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    viewer: Viewer,
    services: AppServices,
    db_session: DbSession,
    q: Annotated[str | None, QueryParameter(max_length=255)] = None,
    license: Annotated[str | None, QueryParameter(max_length=128)] = None,
    dataset: Annotated[str | None, QueryParameter(max_length=512)] = None,
    supplier: Annotated[str | None, QueryParameter(max_length=512)] = None,
    opset: Annotated[str | None, QueryParameter(max_length=64)] = None,
    component: Annotated[str | None, QueryParameter(max_length=160)] = None,
    signer: Annotated[str | None, QueryParameter(max_length=MAX_SIGNER_LENGTH)] = None,
) -> Template:
    """A namespace's models: by name (``GET /api/v1/models``), or versions by SBOM facts and
    signer (``GET /api/v1/versions?namespace=...``)."""
    found = await namespace_named(db_session, namespace)
    await _require_pull(services, viewer, namespace)
    models = await lifecycle_queries.list_models(
        db_session,
        viewer,
        namespace=namespace,
        query=q or None,
        media_type=None,
        limit=200,
        offset=0,
    )
    asked = {
        "license": license,
        "dataset": dataset,
        "supplier": supplier,
        "opset": opset,
        "component": component,
        "signer": signer,
    }
    asked = {k: v.strip() for k, v in asked.items() if v and v.strip()}
    hits = None
    hits_total = 0
    search_error = None
    if asked:
        try:
            found_versions = await sbom_service.search_versions(
                db_session,
                viewer,
                facts={k: asked.get(k) for k in ("dataset", "license", "supplier")},
                component=asked.get("component"),
                opset=asked.get("opset"),
                signer=asked.get("signer"),
                namespace=namespace,
                limit=_HITS_PER_PAGE,
                offset=0,
            )
        except BadRequest as exc:
            search_error = exc.detail
        else:
            hits = found_versions.versions
            hits_total = found_versions.total
    return _page(
        "namespace.html",
        request,
        viewer,
        400 if search_error else 200,
        namespace=found,
        models=models.models,
        total=models.page.total,
        q=q or "",
        asked=asked,
        facts=_SEARCH_FACTS,
        hits=hits,
        hits_total=hits_total,
        search_error=search_error,
    )


@dataclass(frozen=True, slots=True)
class HistoryRow:
    event: AuditEvent
    alias: str
    verdict: str | None
    failed: list[str]
    policies: dict[str, str]


def _history_row(event: AuditEvent) -> HistoryRow:
    detail = event.detail or {}
    verdict = None
    if "allowed" in detail:
        verdict = "allowed" if detail["allowed"] else "refused"
    return HistoryRow(
        event=event,
        alias=event.subject.rpartition(":")[2],
        verdict=verdict,
        failed=[str(x) for x in detail.get("failed_rules", [])],
        policies={str(k): str(v) for k, v in (detail.get("policies") or {}).items()},
    )


@get("/{namespace:str}/{model:str}", include_in_schema=False)
async def model_page(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    model: FromPath[str],
    viewer: Viewer,
    services: AppServices,
    db_session: DbSession,
    page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    moved: Annotated[str | None, QueryParameter(max_length=128)] = None,
) -> Template:
    """A model's versions and aliases (``GET /api/v1/models/{ns}/{model}``), and for
    namespace admins its alias history (the audit trail's alias events)."""
    return await _model_page(
        request, namespace, model, viewer, services, db_session, page, moved=moved
    )


@dataclass(frozen=True, slots=True)
class MoveOutcome:
    """What the alias form shows after a refused move."""

    alias: str
    version: str
    error: str
    failed: list[str]
    rule: str | None = None


async def _model_page(
    request: Request[Any, Any, Any],
    namespace: str,
    model: str,
    viewer: Principal,
    services: Any,
    db_session: Any,
    page: int = 1,
    *,
    outcome: MoveOutcome | None = None,
    status: int = 200,
    moved: str | None = None,
) -> Template:
    await namespace_named(db_session, namespace)
    repository = await load_model(services, db_session, viewer, namespace, model, Scope.PULL)
    # version_summaries lists oldest first: the newest page is the last one.
    _, total = await lifecycle_queries.version_summaries(db_session, repository, limit=1, offset=0)
    pages = max(1, -(-total // _VERSIONS_PER_PAGE))
    page = min(page, pages)
    end = total - (page - 1) * _VERSIONS_PER_PAGE
    start = max(0, end - _VERSIONS_PER_PAGE)
    versions, total = await lifecycle_queries.version_summaries(
        db_session, repository, limit=max(1, end - start), offset=start
    )
    aliases = await lifecycle_queries.alias_views(db_session, repository)
    history = None
    if viewer.allows(namespace, Scope.ADMIN):
        events = await subject_events(
            db_session,
            namespace=namespace,
            subject_prefix=f"{repository.name}:",
            actions=_ALIAS_ACTIONS,
            limit=100,
        )
        history = [_history_row(e) for e in events]
    can_move = viewer.allows(namespace, Scope.PROMOTE, repository.name)
    return _page(
        "model.html",
        request,
        viewer,
        status,
        namespace=namespace,
        model=repository.name,
        short_name=model,
        versions=list(reversed(versions)) if total else [],
        total=total,
        page=page,
        pages=pages,
        aliases=aliases,
        history=history,
        can_move=can_move,
        form_token=session.form_token(request) if can_move else "",
        outcome=outcome,
        moved=moved if moved and any(a.alias == moved for a in aliases) else None,
    )


@dataclass
class AliasForm:
    alias: str = ""
    version: str = ""
    form_token: str = ""


@post("/{namespace:str}/{model:str}/aliases", include_in_schema=False, status_code=303)
async def move_alias(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    model: FromPath[str],
    data: Annotated[AliasForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    viewer: Viewer,
    services: AppServices,
    db_session: DbSession,
) -> Response[Any]:
    """The model page's alias form: ``PUT /api/v1/models/{ns}/{model}/aliases/{alias}``
    (the same lifecycle service, the caller's ``promote`` right, the promotion gate)."""
    session.check_form_token(request, data.form_token)
    await namespace_named(db_session, namespace)
    repository = await load_model(services, db_session, viewer, namespace, model, Scope.PROMOTE)
    alias, version = data.alias.strip(), data.version.strip()
    try:
        await lifecycle_service.move_alias(
            db_session,
            repository,
            alias,
            AliasMoveRequest(version=version or None),
            principal=viewer,
            versions=services.versions,
            hooks=services.oci_hooks,
        )
        await db_session.commit()
    except PromotionRefused as exc:  # audited (alias.refused) and rolled back by the gate
        outcome = MoveOutcome(
            alias,
            version,
            exc.detail,
            [str(f) for f in exc.extra.get("failed_rules", [])],
            exc.extra.get("rule"),
        )
        return await _model_page(
            request, namespace, model, viewer, services, db_session, outcome=outcome, status=409
        )
    except RegistryError as exc:
        if exc.status_code >= 500 or isinstance(exc, Unauthorized):
            raise
        await db_session.rollback()
        outcome = MoveOutcome(alias, version, exc.detail, [])
        return await _model_page(
            request,
            namespace,
            model,
            viewer,
            services,
            db_session,
            outcome=outcome,
            status=exc.status_code,
        )
    services.manifest_cache.clear()
    return Redirect(f"/ui/{repository.name}?moved={quote(alias)}#aliases-title", status_code=303)


@get("/{namespace:str}/{model:str}/versions/{version:str}", include_in_schema=False)
async def version_page(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    model: FromPath[str],
    version: FromPath[str],
    viewer: Viewer,
    services: AppServices,
    db_session: DbSession,
    blobs: Blobs,
) -> Template:
    """One version (``GET .../versions/{version}``), and per alias of the model the
    promotion check's dry run (``GET .../promotion-check?alias=``)."""
    await namespace_named(db_session, namespace)
    repository = await load_model(services, db_session, viewer, namespace, model, Scope.PULL)
    policies = services.policies.current
    view = await lifecycle_service.version_view(db_session, blobs, policies, repository, version)
    aliases = await lifecycle_queries.alias_views(db_session, repository)
    # Read before the dry run below: its rollback expires the loaded rows.
    tag = await oci_queries.find_tag(db_session, repository, version)
    targets = (
        await _version_targets(db_session, namespace, repository.name, version, tag.manifest_id)
        if tag is not None
        else []
    )
    outputs = [
        output_summary(o)
        for o in await hub_queries.outputs_by_model(
            db_session, repository.name, view.digest, after=-1, limit=_OUTPUTS_SHOWN + 1
        )
    ]
    checks: list[tuple[str, Decision]] = []
    if tag is not None:
        for alias in aliases:
            decision = await check_alias(
                db_session,
                blobs,
                policies,
                repository=repository,
                alias=alias.alias,
                target=tag.manifest,
                actor=viewer.actor,
            )
            checks.append((alias.alias, decision))
    await db_session.rollback()  # a dry run, as the promotion-check endpoint's
    return _page(
        "version.html",
        request,
        viewer,
        namespace=namespace,
        short_name=model,
        view=view,
        targets=targets,
        outputs=outputs[:_OUTPUTS_SHOWN],
        more_outputs=(
            f"/api/v1/outputs?model={quote(view.model)}&digest={quote(view.digest)}"
            f"&after={outputs[_OUTPUTS_SHOWN - 1].log_index}"
            if len(outputs) > _OUTPUTS_SHOWN
            else None
        ),
        outputs_path=OUTPUTS_PATH,
        proof_api=_PROOF_API,
        sbom=view.sbom,
        checks=checks,
        sbom_download=(
            f"/ui/{namespace}/{model}/versions/{version}/sbom.cdx.json" if view.sbom else None
        ),
        blob_api=f"/v2/{view.model}/blobs/",
    )


@dataclass(frozen=True, slots=True)
class TargetRow:
    path: str
    length: int
    sha256: str
    kind: str


async def _version_targets(
    db_session: Any, namespace: str, repository: str, version: str, manifest_id: int
) -> list[TargetRow]:
    """The TUF targets naming this version: its manifest, its files, the aliases on it
    (:func:`registry.tuf.catalog.namespace_targets`, what the targets role lists)."""
    prefix = f"{repository}/{version}/"
    rows = []
    found = await namespace_targets(db_session, namespace, repository, manifest_id)
    for path, target in found.items():
        custom = target.unrecognized_fields.get("custom", {})
        if path.startswith(prefix):
            kind = "manifest" if path.endswith("/@manifest") else "file"
        elif custom.get("version") == version:
            kind = "alias"
        else:
            continue
        rows.append(TargetRow(path, target.length, target.hashes["sha256"], kind))
    order = {"manifest": 0, "file": 1, "alias": 2}
    return sorted(rows, key=lambda r: (order[r.kind], r.path))


@get("/-/outputs/{digest:str}", include_in_schema=False)
async def output_page(
    request: Request[Any, Any, Any],
    digest: FromPath[str],
    viewer: Viewer,
    services: AppServices,
    db_session: DbSession,
) -> Template:
    """An output's provenance graph (``GET /api/v1/outputs/{digest}``, anonymous as it is):
    model version -> latent steps -> output -> reprints, each with its evidence."""
    services.hub.require_policy()
    found = await attribution(db_session, services, str(Digest.parse(digest)))
    model, _, _ = found.model.reference.partition("@")
    return _page(
        "output.html",
        request,
        viewer,
        output=found,
        model=model,
        chain=found.chain,
        evidence=found.evidence,
        proof_api=_PROOF_API,
        outputs_path=OUTPUTS_PATH,
        log_path=LOG_PATH,
    )


@get("/-/log/{index:str}", include_in_schema=False)
async def log_entry(
    request: Request[Any, Any, Any], index: FromPath[str], viewer: Viewer, services: AppServices
) -> Template:
    """One log entry and its inclusion proof against the latest signed checkpoint, with the
    server's verdict on that proof (``GET /api/v1/log/entries``, ``/proof/inclusion`` and
    ``/checkpoint``, public as they are)."""
    found = await log_entry_page(services.tlog, parse_index(index))
    return _page(
        "log_entry.html",
        request,
        viewer,
        entry=found,
        log_path=LOG_PATH,
        outputs_path=OUTPUTS_PATH,
        entries_api=f"/api/v1/log/entries?start={found.index}&end={found.index + 1}",
        proof_api=f"{_PROOF_API}{found.index}&tree_size={found.tree_size}",
        checkpoint_api="/api/v1/log/checkpoint",
        key_api="/api/v1/log/key",
    )


def _moment(text: str | None, field: str) -> datetime | None:
    """A form's time field: empty -> no bound; ISO 8601 otherwise (UTC without an offset)."""
    if text is None or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"{field}: give a time as 2026-01-31T12:00:00 (UTC)") from None


@get("/-/audit", include_in_schema=False)
async def audit_trail_page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    db_session: DbSession,
    namespace: Annotated[str | None, QueryParameter(max_length=128)] = None,
    action: Annotated[str | None, QueryParameter(max_length=64)] = None,
    actor: Annotated[str | None, QueryParameter(max_length=255)] = None,
    since_text: Annotated[str | None, QueryParameter(name="since", max_length=64)] = None,
    until_text: Annotated[str | None, QueryParameter(name="until", max_length=64)] = None,
    after: Annotated[int, QueryParameter(ge=0, le=MAX_INT64)] = 0,
    before: Annotated[int | None, QueryParameter(ge=1, le=MAX_INT64)] = None,
) -> Template:
    """The audit trail (``GET /api/v1/audit``, same rights): a namespace admin reads their
    namespace (the default), a site admin every namespace. Oldest first; the pager's links
    are the API's cursors (``next_after``, ``prev_before``) with the filters kept."""
    if viewer.is_anonymous:
        raise Unauthorized("log in to read the audit trail")
    since, until = _moment(since_text, "since"), _moment(until_text, "until")
    asked = (namespace or "").strip() or None
    if asked is None and not viewer.is_site_admin:
        asked = viewer.namespace
    found = await read_audit_page(
        viewer,
        db_session,
        namespace=asked,
        after=after,
        before=before,
        limit=_AUDIT_PER_PAGE,
        action=(action or "").strip() or None,
        actor=(actor or "").strip() or None,
        since=since,
        until=until,
    )
    filters = {
        "namespace": asked or "",
        "action": (action or "").strip(),
        "actor": (actor or "").strip(),
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
    }
    asked_filters = {k: v for k, v in filters.items() if v}

    def link(**cursor: int) -> str:
        return f"{AUDIT_PATH}?{urlencode({**asked_filters, **cursor})}"

    return _page(
        "audit.html",
        request,
        viewer,
        events=found.events,
        filters=filters,
        next_page=None if found.next_after is None else link(after=found.next_after),
        previous_page=None if found.prev_before is None else link(before=found.prev_before),
        first_page=link() if found.prev_before is not None else None,
        newest_page=link(before=MAX_INT64) if found.next_after is not None else None,
        audit_path=AUDIT_PATH,
    )


@get("/-/policies", include_in_schema=False)
async def policies_page(
    request: Request[Any, Any, Any], viewer: Viewer, services: AppServices
) -> Template:
    """The policies in force with their digests and the last reload error
    (``GET /api/v1/policies``: site admins)."""
    viewer.require_site_admin()
    status = policy_status(services.policies)
    return _page("policies.html", request, viewer, policies=status)


@get(
    "/{namespace:str}/{model:str}/versions/{version:str}/sbom.cdx.json",
    include_in_schema=False,
)
async def sbom_download(
    namespace: FromPath[str],
    model: FromPath[str],
    version: FromPath[str],
    viewer: Viewer,
    services: AppServices,
    db_session: DbSession,
    blobs: Blobs,
) -> Stream:
    """The version's latest SBOM, byte for byte the blob ``/v2/{name}/blobs/{digest}`` serves."""
    await namespace_named(db_session, namespace)
    repository = await load_model(services, db_session, viewer, namespace, model, Scope.PULL)
    tag = await oci_queries.find_tag(db_session, repository, version)
    if tag is None or not tag.is_version:
        raise NotFound(f"{repository.name} has no version {version}")
    view = await lifecycle_queries.version_view(db_session, blobs, repository, tag)
    if view.sbom is None:
        raise NotFound(f"{repository.name}:{version} has no SBOM")
    digest = Digest.parse(str(view.sbom["digest"]))
    return Stream(
        blobs.open(digest),
        media_type=mt.CYCLONEDX_JSON,
        headers={
            "Content-Disposition": f'attachment; filename="{model}-{version}.cdx.json"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def web_handlers() -> list[Any]:
    """What ``create_app`` mounts: ``/`` (to ``/ui``), the ``/ui`` pages, their static files."""
    pages = Router(
        path="/ui",
        route_handlers=[
            namespaces_page,
            login_page,
            login,
            logout,
            verify_page,
            c2pa_anchors,
            output_page,
            log_entry,
            audit_trail_page,
            policies_page,
            namespace_page,
            model_page,
            move_alias,
            version_page,
            sbom_download,
        ],
        dependencies={"viewer": Provide(session.provide_viewer)},
        exception_handlers={RegistryError: page_error, HTTPException: page_error},
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=STATIC_PATH,
        directories=[_STATIC_DIR],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=3600),
        send_as_attachment=False,
    )
    return [root, pages, static]
