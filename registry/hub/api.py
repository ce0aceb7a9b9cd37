"""``/api/v1/outputs``, ``/api/v1/reprints``, ``/api/v1/hub/key``: the reprint hub's HTTP face.

Who may do what (ADR 0010): registering an output needs ``push`` on the
namespace of the model that made it (as publishing to a Hugging Face or MLflow
model would); asking for a reprint needs any valid API token, of any namespace: the
token is the accountable party, named with its namespace in the log entry and the
signed attribution statement (ADR 0012); reading attribution is anonymous (a public
hub: everything shown is digests, identities and terms the creator chose to publish).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter

from registry.audit.service import refuse
from registry.auth import Principal, Scope
from registry.auth.deps import Caller
from registry.digests import Digest
from registry.errors import Unauthorized
from registry.http.deps import AppServices, DbSession
from registry.http.openapi import (
    OPTIONAL_TOKEN,
    PUBLIC,
    TOKEN,
    DigestPath,
    OutputUpload,
    ReprintUpload,
    int_query,
    problems,
)
from registry.http.params import MAX_INT64
from registry.http.text import check_document
from registry.hub import queries
from registry.hub.attestation import ATTRIBUTION_TYPE
from registry.hub.c2pa_claims import c2pa_claim, c2pa_lineage
from registry.hub.claims import claimed_model, latent_envelopes, manifest_claim
from registry.hub.config import Hub, ledger_of
from registry.hub.errors import (
    DuplicateRegistration,
    HubError,
    MalformedSubmission,
    NotRegistered,
    Rejected,
    ReprintRefused,
)
from registry.hub.intake import ImagePart, media_type_of, read_image_body, read_submission
from registry.hub.lookup import attribution
from registry.hub.registration import Claim, output_summary, register, terms_of
from registry.hub.reprints import (
    Match,
    attribution_statement,
    check_terms,
    record_reprint,
    requester_of,
    use_of,
)
from registry.hub.schemas import (
    Attribution,
    HubKey,
    OutputList,
    Registration,
    ReprintGranted,
    ReprintRequestBody,
)
from registry.naming import RepositoryName
from registry.oci import queries as oci_queries
from registry.services import Services
from signing.provenance.c2pa_sign import C2PA_MIME_TYPES
from verifier.provenance.reprint_policy import ReprintPolicy

MANIFEST_PART = "manifest"
LATENTS_PART = "latents"
REQUEST_PART = "request"


#: A well-formed submission refused by a trust check, an earlier registration or the
#: original's terms: audited (``*.refused``) before it is answered.
_REFUSALS = (Rejected, DuplicateRegistration)


@dataclass
class _Attempt:
    """What a refused submission was about, as far as it was read."""

    subject: str
    namespace: str | None = None


async def _refused(
    db_session: DbSession,
    principal: Principal,
    action: str,
    attempt: _Attempt,
    error: HubError,
) -> NoReturn:
    await refuse(
        db_session,
        error,
        actor=principal.actor,
        action=action,
        subject=attempt.subject,
        namespace=attempt.namespace,
        detail={"check": error.extra.get("check"), "reason": error.detail},
    )


def _require_token(principal: Principal, what: str) -> None:
    if principal.is_anonymous:
        raise Unauthorized(f"authentication required to {what}")


class HubController(Controller):
    path = "/api/v1"
    tags = ["reprint hub"]

    @post(
        "/outputs",
        request_max_body_size=None,
        summary="Register a generated image (output manifest + latent chain, or C2PA)",
        security=TOKEN,
        operation_class=OutputUpload,
        responses={
            200: ResponseSpec(Registration, description="This claim was registered before."),
            **problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
        },
    )
    async def register_output(
        self,
        request: Request[Any, Any, Any],
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
    ) -> Response[Registration]:
        """multipart/form-data: ``manifest`` (DSSE envelope) and ``latents`` (JSON array of
        envelopes) with an optional ``image``; or an ``image`` carrying C2PA credentials,
        with ``latents`` unless the namespace's reprint rule sets ``c2pa_without_latents``.
        A C2PA image may also be the whole body (``Content-Type: image/png`` or
        ``image/jpeg``), with no chain then. 201 for a new registration, 200 when the same
        claim was registered before."""
        hub = services.hub
        policy = hub.require_policy()
        _require_token(principal, "register an output")
        attempt = _Attempt("outputs")
        try:
            claim = await self._claim(request, principal, hub, policy, attempt)
            return await self._recorded(services, db_session, principal, claim)
        except _REFUSALS as exc:
            await _refused(db_session, principal, "hub.register.refused", attempt, exc)

    async def _claim(
        self,
        request: Request[Any, Any, State],
        principal: Principal,
        hub: Hub,
        policy: ReprintPolicy,
        attempt: _Attempt,
    ) -> Claim:
        media_type = media_type_of(request)
        if media_type in C2PA_MIME_TYPES:
            image = await read_image_body(request, media_type, hub.limits)
            attempt.subject = f"image:{image.digest}"
            claim = await to_thread.run_sync(c2pa_claim, image, None, hub.trust_anchors_pem, policy)
            attempt.namespace = claim.namespace
            principal.require(claim.namespace, Scope.PUSH, repository=claim.repository)
            return claim
        submission = await read_submission(
            request,
            allowed_fields=(MANIFEST_PART, LATENTS_PART),
            limits=hub.limits,
            keep_image_unless=MANIFEST_PART,
        )
        if submission.image is not None:
            attempt.subject = f"image:{submission.image.digest}"
        envelope = submission.fields.get(MANIFEST_PART)
        if envelope is not None:
            repository = claimed_model(envelope)
            attempt.namespace = repository.namespace
            principal.require(repository.namespace, Scope.PUSH, repository=repository.full)
            latents = latent_envelopes(submission.require(LATENTS_PART))
            claim = manifest_claim(envelope, latents, submission.image, policy, repository)
            attempt.subject = f"image:{claim.image_digest}"
            return claim
        if submission.image is None:
            raise MalformedSubmission("send a 'manifest' and 'latents', or a C2PA 'image'")
        sent = submission.fields.get(LATENTS_PART)
        chain = None if sent is None else latent_envelopes(sent)
        # Off the event loop: c2pa_claim blocks while c2pa validates (native code, GIL
        # released, in a thread of its own) and this thread checks the chain's signatures.
        claim = await to_thread.run_sync(
            c2pa_claim, submission.image, chain, hub.trust_anchors_pem, policy
        )
        attempt.namespace = claim.namespace
        principal.require(claim.namespace, Scope.PUSH, repository=claim.repository)
        return claim

    async def _recorded(
        self,
        services: Services,
        db_session: DbSession,
        principal: Principal,
        claim: Claim,
    ) -> Response[Registration]:
        # Signed is not the same as storable: text PostgreSQL refuses is refused on both engines.
        check_document(claim, "the verified claim", MalformedSubmission)
        ledger = ledger_of(services)
        output, logged = await register(db_session, services, ledger, principal, claim)
        receipt = await ledger.receipt(output.log_index, logged)
        body = Registration(
            image_digest=output.image_digest,
            kind=output.kind,
            creator=output.creator,
            model=f"{output.model}@{output.model_digest}",
            license=output.license,
            terms=terms_of(output),
            registered_at=output.registered_at,
            log_index=output.log_index,
            leaf_hash=output.leaf_hash,
            image_checked=output.image_checked,
            receipt=receipt,
            entry=logged.body.decode() if logged else await ledger.entry(output.log_index),
        )
        return Response(body, status_code=201 if logged else 200)

    @get(
        "/outputs",
        summary="Outputs registered against a model version (pull on its namespace)",
        security=OPTIONAL_TOKEN,
        responses=problems(400, 401, 403),
    )
    async def list_outputs(
        self,
        principal: Caller,
        db_session: DbSession,
        model: Annotated[str, QueryParameter(max_length=255)],
        digest: Annotated[str, QueryParameter(max_length=71)],
        after: Annotated[int, int_query(ge=-1, le=MAX_INT64)] = -1,
        limit: Annotated[int, int_query(ge=1, le=1000)] = 100,
    ) -> OutputList:
        """The images registered with ``model`` (``namespace/model``) at version ``digest``."""
        name = RepositoryName.parse(model)
        namespace = await oci_queries.find_namespace(db_session, name.namespace)
        anonymous_ok = namespace is not None and namespace.anonymous_pull
        principal.require(name.namespace, Scope.PULL, anonymous_ok=anonymous_ok)
        found = await queries.outputs_by_model(
            db_session, name.full, str(Digest.parse(digest)), after=after, limit=limit
        )
        views = [output_summary(o) for o in found]
        return OutputList(views, views[-1].log_index if len(views) == limit else None)

    @get(
        "/outputs/{digest:str}",
        summary="Attribution of a registered image (anonymous)",
        security=PUBLIC,
        responses=problems(400, 404, 503),
    )
    async def get_output(
        self, digest: DigestPath, services: AppServices, db_session: DbSession
    ) -> Attribution:
        services.hub.require_policy()
        return await attribution(db_session, services, str(Digest.parse(digest)))

    @post(
        "/reprints",
        request_max_body_size=None,
        status_code=201,
        summary="Ask to reprint an image; answered with a hub-signed attribution statement",
        security=TOKEN,
        operation_class=ReprintUpload,
        responses=problems(400, 401, 403, 404, 413, 415, 422, 503),
    )
    async def reprint(
        self,
        request: Request[Any, Any, Any],
        services: AppServices,
        principal: Caller,
        db_session: DbSession,
    ) -> ReprintGranted:
        """multipart/form-data: ``request`` (JSON: reprinter, commercial, derivative,
        attribution) and ``image`` (the exact bytes, or a C2PA-credentialed derivative)."""
        hub = services.hub
        policy = hub.require_policy()
        _require_token(principal, "reprint")
        requester_of(principal)  # before the body is read: an access token names no party
        submission = await read_submission(
            request, allowed_fields=(REQUEST_PART,), limits=hub.limits
        )
        try:
            body = msgspec.json.decode(
                submission.require(REQUEST_PART), type=ReprintRequestBody, strict=True
            )
        except (msgspec.DecodeError, ValueError, RecursionError) as exc:
            raise MalformedSubmission(f"the 'request' part: {exc}") from None
        check_document(msgspec.to_builtins(body), "the 'request' part", MalformedSubmission)
        if submission.image is None:
            raise MalformedSubmission("the 'image' part is missing")
        image = submission.image
        match = await self._find_original(db_session, image, hub.trust_anchors_pem)
        use = use_of(body, match.via)
        try:
            check_terms(policy, match.output, use)
        except ReprintRefused as exc:
            attempt = _Attempt(f"image:{image.digest}", match.output.namespace)
            await _refused(db_session, principal, "hub.reprint.refused", attempt, exc)
        ledger = ledger_of(services)
        reprint, logged = await record_reprint(
            db_session, ledger, principal, match, body.reprinter, use
        )
        statement = await attribution_statement(
            db_session, services, hub.signer, match.output, reprint, principal
        )
        return ReprintGranted(
            statement=statement,
            original=match.output.image_digest,
            image_digest=match.image_digest,
            via=match.via,
            log_index=reprint.log_index,
            receipt=await ledger.receipt(reprint.log_index, logged),
            entry=await ledger.entry(reprint.log_index),
            registration_receipt=await ledger.receipt(match.output.log_index),
        )

    async def _find_original(
        self, db_session: DbSession, image: ImagePart, anchors: bytes | None
    ) -> Match:
        exact = await queries.output_by_image(db_session, image.digest)
        if exact is not None:
            return Match(exact, image.digest, "exact")
        lineage = await to_thread.run_sync(c2pa_lineage, image, anchors)
        if lineage is not None:
            labels = [label for label, _ in lineage.steps]
            rendered = [digest for _, digest in lineage.steps if digest is not None]
            found = await queries.outputs_by_c2pa_label(db_session, labels)
            found += await queries.outputs_by_image(db_session, rendered)
            ranked = [(lineage.rank(o.c2pa_label, o.image_digest), o.id, o) for o in found]
            nearest = min((r for r in ranked if r[0] is not None), default=None)
            if nearest is not None:
                return Match(nearest[2], image.digest, "c2pa")
        raise NotRegistered(
            f"{image.digest} is not registered, and no registered output is among its "
            "validated C2PA ingredients"
        )

    @get("/hub/key", summary="The key that signs attribution statements", security=PUBLIC)
    async def hub_key(self, services: AppServices) -> HubKey:
        signer = services.hub.signer
        return HubKey(
            key_id=signer.key_id,
            public_key_pem=signer.public_key_pem,
            statement_type=ATTRIBUTION_TYPE,
        )
