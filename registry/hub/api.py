"""``/api/v1/outputs``, ``/api/v1/reprints``, ``/api/v1/hub/key``: the reprint hub's HTTP face.

Who may do what (ADR 0010): registering an output needs ``push`` on the
namespace of the model that made it (as publishing to a Hugging Face or MLflow
model would); asking for a reprint needs any valid token (the reprinter is
accountable); reading attribution is anonymous (a public hub: everything shown
is digests, identities and terms the creator chose to publish).
"""

from __future__ import annotations

from typing import Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from registry.auth import Principal, Scope
from registry.digests import Digest
from registry.errors import Unauthorized
from registry.http.deps import Caller, DbSession
from registry.http.text import check_document
from registry.hub import records
from registry.hub.attestation import ATTRIBUTION_TYPE
from registry.hub.c2pa_claims import c2pa_claim, c2pa_lineage
from registry.hub.claims import claimed_model, latent_envelopes, manifest_claim
from registry.hub.config import hub_of, ledger_of
from registry.hub.errors import MalformedSubmission, NotRegistered
from registry.hub.intake import ImagePart, media_type_of, read_image_body, read_submission
from registry.hub.model_status import model_status
from registry.hub.registration import Claim, register, terms_of
from registry.hub.reprints import Match, attribution_statement, check_terms, record_reprint, use_of
from registry.hub.schemas import (
    Attribution,
    HubKey,
    ModelView,
    Registration,
    ReprintGranted,
    ReprintRequestBody,
    ReprintView,
)
from signing.provenance.c2pa_sign import C2PA_MIME_TYPES

MANIFEST_PART = "manifest"
LATENTS_PART = "latents"
REQUEST_PART = "request"


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
    )
    async def register_output(
        self, request: Request[Any, Any, State], principal: Caller, db_session: DbSession
    ) -> Response[Registration]:
        """multipart/form-data: ``manifest`` (DSSE envelope) and ``latents`` (JSON array of
        envelopes) with an optional ``image``; or an ``image`` carrying C2PA credentials,
        with ``latents`` unless the namespace's reprint rule sets ``c2pa_without_latents``.
        A C2PA image may also be the whole body (``Content-Type: image/png`` or
        ``image/jpeg``), with no chain then. 201 for a new registration, 200 when the same
        claim was registered before."""
        hub = hub_of(request.app.state)
        policy = hub.require_policy()
        _require_token(principal, "register an output")
        media_type = media_type_of(request)
        if media_type in C2PA_MIME_TYPES:
            image = await read_image_body(request, media_type, hub.limits)
            claim = await to_thread.run_sync(c2pa_claim, image, None, hub.trust_anchors_pem, policy)
            principal.require(claim.namespace, Scope.PUSH, repository=claim.repository)
            return await self._recorded(request, db_session, principal, claim)
        submission = await read_submission(
            request,
            allowed_fields=(MANIFEST_PART, LATENTS_PART),
            limits=hub.limits,
            keep_image_unless=MANIFEST_PART,
        )
        envelope = submission.fields.get(MANIFEST_PART)
        if envelope is not None:
            repository = claimed_model(envelope)
            principal.require(repository.namespace, Scope.PUSH, repository=repository.full)
            latents = latent_envelopes(submission.require(LATENTS_PART))
            claim = manifest_claim(envelope, latents, submission.image, policy, repository)
        else:
            if submission.image is None:
                raise MalformedSubmission("send a 'manifest' and 'latents', or a C2PA 'image'")
            sent = submission.fields.get(LATENTS_PART)
            chain = None if sent is None else latent_envelopes(sent)
            # Off the event loop: c2pa_claim blocks while c2pa validates (native code, GIL
            # released, in a thread of its own) and this thread checks the chain's signatures.
            claim = await to_thread.run_sync(
                c2pa_claim, submission.image, chain, hub.trust_anchors_pem, policy
            )
            principal.require(claim.namespace, Scope.PUSH, repository=claim.repository)
        return await self._recorded(request, db_session, principal, claim)

    async def _recorded(
        self,
        request: Request[Any, Any, State],
        db_session: DbSession,
        principal: Principal,
        claim: Claim,
    ) -> Response[Registration]:
        # Signed is not the same as storable: text PostgreSQL refuses is refused on both engines.
        check_document(claim, "the verified claim", MalformedSubmission)
        state = request.app.state
        output, logged = await register(db_session, state, ledger_of(state), principal, claim)
        receipt = await ledger_of(state).receipt(output.log_index, logged)
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
            entry=logged.body.decode()
            if logged
            else await ledger_of(state).entry(output.log_index),
        )
        return Response(body, status_code=201 if logged else 200)

    @get("/outputs/{digest:str}", summary="Attribution of a registered image (anonymous)")
    async def get_output(
        self, digest: FromPath[str], request: Request[Any, Any, State], db_session: DbSession
    ) -> Attribution:
        hub_of(request.app.state).require_policy()
        image_digest = str(Digest.parse(digest))
        output = await records.output_by_image(db_session, image_digest)
        if output is None:
            raise NotRegistered(f"{image_digest} is not registered with this hub")
        status = await model_status(
            db_session, request.app.state, output.model, output.model_digest
        )
        reprints = await records.reprints_of(db_session, output)
        return Attribution(
            image_digest=output.image_digest,
            kind=output.kind,
            creator=output.creator,
            model=ModelView(
                reference=f"{output.model}@{output.model_digest}",
                digest=output.model_digest,
                version=status.version,
                signature_verified=status.verified,
                signers=status.signers,
            ),
            license=output.license,
            terms=terms_of(output),
            first_registered_at=output.registered_at,
            log_index=output.log_index,
            leaf_hash=output.leaf_hash,
            chain=output.chain,
            reprints=[
                ReprintView(
                    image_digest=r.image_digest,
                    via=r.via,
                    reprinter=r.reprinter,
                    created_at=r.created_at,
                    log_index=r.log_index,
                )
                for r in reprints
            ],
            receipt=await ledger_of(request.app.state).receipt(output.log_index),
            entry=await ledger_of(request.app.state).entry(output.log_index),
        )

    @post(
        "/reprints",
        request_max_body_size=None,
        status_code=201,
        summary="Ask to reprint an image; answered with a hub-signed attribution statement",
    )
    async def reprint(
        self, request: Request[Any, Any, State], principal: Caller, db_session: DbSession
    ) -> ReprintGranted:
        """multipart/form-data: ``request`` (JSON: reprinter, commercial, derivative,
        attribution) and ``image`` (the exact bytes, or a C2PA-credentialed derivative)."""
        hub = hub_of(request.app.state)
        policy = hub.require_policy()
        _require_token(principal, "reprint")
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
        check_terms(policy, match.output, use)
        ledger = ledger_of(request.app.state)
        reprint, logged = await record_reprint(
            db_session, ledger, principal, match, body.reprinter, use
        )
        statement = await attribution_statement(
            db_session, request.app.state, hub.signer, match.output, reprint
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
        exact = await records.output_by_image(db_session, image.digest)
        if exact is not None:
            return Match(exact, image.digest, "exact")
        lineage = await to_thread.run_sync(c2pa_lineage, image, anchors)
        if lineage is not None:
            labels = [label for label, _ in lineage.steps]
            rendered = [digest for _, digest in lineage.steps if digest is not None]
            found = await records.outputs_by_c2pa_label(db_session, labels)
            found += await records.outputs_by_image(db_session, rendered)
            ranked = [(lineage.rank(o.c2pa_label, o.image_digest), o.id, o) for o in found]
            nearest = min((r for r in ranked if r[0] is not None), default=None)
            if nearest is not None:
                return Match(nearest[2], image.digest, "c2pa")
        raise NotRegistered(
            f"{image.digest} is not registered, and no registered output is among its "
            "validated C2PA ingredients"
        )

    @get("/hub/key", summary="The key that signs attribution statements")
    async def hub_key(self, request: Request[Any, Any, State]) -> HubKey:
        signer = hub_of(request.app.state).signer
        return HubKey(
            key_id=signer.key_id,
            public_key_pem=signer.public_key_pem,
            statement_type=ATTRIBUTION_TYPE,
        )
