"""A client of the reprint hub that trusts nothing it is told without checking it.

What it checks, so a creator does not have to trust the hub's word:

* the image digest is computed here from the file's exact bytes;
* every receipt (registration or reprint) is verified against the log's key:
  the checkpoint signature, the inclusion proof, and that the leaf hash is the
  hash of the logged entry, whose JSON must name this image;
* an attribution statement must be signed by the hub's key, about this image.

Keys should be pinned (``log_key``, ``hub_key_pem``); without them the client
fetches them from the hub and says so (``keys_pinned`` is False): the checks
then prove the hub is self-consistent, not that it is the hub you meant.

Failures fall into the two families of :mod:`verifier.errors`:
:class:`~verifier.errors.FetchError` (could not ask: network, HTTP error, refused)
and :class:`HubAnswerInvalid` / :class:`~verifier.transparency.errors.LogError`
(asked, and the answer does not verify).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import httpx

from signing.dsse import Envelope
from signing.errors import BundleFormatError, KeyLoadError
from signing.exit_codes import ExitCode
from signing.keys import PublicKey, load_public_key, verify_bytes
from verifier.clients.registry import read_at_most
from verifier.errors import FetchError, MaterialUnreadable, VerificationError
from verifier.transparency import VerifiedReceipt, VerifierKey, verify_receipt

__all__ = [
    "ATTRIBUTION_TYPE",
    "Attribution",
    "HubAnswerInvalid",
    "HubClient",
    "Refused",
    "Reprint",
]

ATTRIBUTION_TYPE = "https://custody.invalid/hub/attribution/v1"
#: The largest answer read from the hub: a hub streaming endless bytes is refused early.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class HubAnswerInvalid(VerificationError):
    """The hub answered, but what it said does not verify (wrong image, bad signature)."""

    check = "hub"
    exit_code = ExitCode.HUB


class Refused(FetchError):
    """The hub refused the request with a problem document; ``check`` and ``term`` say why."""

    exit_code = ExitCode.REFUSED

    def __init__(self, problem: Mapping[str, Any], status: int) -> None:
        detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        super().__init__(detail, status=status, code=str(problem.get("code") or ""))
        self.problem = dict(problem)
        self.check = str(problem.get("check") or "hub")
        self.term = problem.get("term")

    def diagnostics(self) -> str:
        term = f" (term: {self.term})" if self.term else ""
        return f"hub answered {self.status}: {self.problem.get('detail') or self}{term}"


@dataclass(frozen=True, slots=True)
class Attribution:
    """A registration whose receipt verified against the log key."""

    view: dict[str, Any]
    receipt: VerifiedReceipt
    keys_pinned: bool


@dataclass(frozen=True, slots=True)
class Reprint:
    """An accepted reprint: the verified statement and both verified receipts."""

    answer: dict[str, Any]
    statement: dict[str, Any]
    receipt: VerifiedReceipt
    registration_receipt: VerifiedReceipt
    keys_pinned: bool


class HubClient:
    """Talks to ``/api/v1/outputs``, ``/api/v1/reprints`` and the keys the hub publishes."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        log_key: str | None = None,
        hub_key_pem: bytes | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self._log_key = VerifierKey.parse(log_key.strip()) if log_key else None
        self._hub_key = _hub_key(hub_key_pem) if hub_key_pem else None
        self.keys_pinned = log_key is not None and hub_key_pem is not None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> bytes:
        """The body of the hub's answer (at most :data:`MAX_ANSWER_BYTES`), or why not."""
        try:
            request = self._http.build_request(method, path, **kwargs)
            response = self._http.send(request, stream=True)
            try:
                body = read_at_most(response, MAX_ANSWER_BYTES)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot reach the hub: {exc}") from exc
        if response.status_code >= 400:
            try:
                problem = json.loads(body)
            except ValueError:
                problem = {}
            if not isinstance(problem, dict):
                problem = {}
            raise Refused(problem, response.status_code)
        if len(body) > MAX_ANSWER_BYTES:
            raise FetchError(f"{path}: the hub sent more than {MAX_ANSWER_BYTES} bytes")
        return body

    def _json(self, body: bytes) -> dict[str, Any]:
        try:
            document = json.loads(body)
        except ValueError:
            raise HubAnswerInvalid("the hub's answer is not JSON") from None
        if not isinstance(document, dict):
            raise HubAnswerInvalid("the hub's answer is not a JSON object")
        return document

    def log_key(self) -> VerifierKey:
        if self._log_key is None:
            text = self._send("GET", "/api/v1/log/key").decode("utf-8", "replace").strip()
            self._log_key = VerifierKey.parse(text)
        return self._log_key

    def hub_key(self) -> PublicKey:
        if self._hub_key is None:
            answer = self._json(self._send("GET", "/api/v1/hub/key"))
            self._hub_key = _hub_key(str(answer.get("public_key_pem", "")).encode())
        return self._hub_key

    # -- checks ----------------------------------------------------------------------------

    def _receipt(self, receipt: object, entry: object, image_digest: str) -> VerifiedReceipt:
        if not isinstance(receipt, Mapping) or not isinstance(entry, str):
            raise HubAnswerInvalid("the hub's answer carries no receipt and logged entry")
        verified = verify_receipt(receipt, self.log_key(), entry=entry.encode())
        try:
            logged = json.loads(entry)
        except ValueError:
            raise HubAnswerInvalid("the logged entry is not JSON") from None
        if not isinstance(logged, dict) or image_digest not in (
            logged.get("image"),
            logged.get("original"),
        ):
            raise HubAnswerInvalid(f"the logged entry is not about {image_digest}")
        return verified

    # -- the flows -------------------------------------------------------------------------

    def attribution(self, image_digest: str) -> Attribution:
        """The attribution view of a registered image, its receipt verified."""
        view = self._json(self._send("GET", f"/api/v1/outputs/{image_digest}"))
        if view.get("image_digest") != image_digest:
            raise HubAnswerInvalid(f"the hub answered about {view.get('image_digest')}")
        receipt = self._receipt(view.get("receipt"), view.get("entry"), image_digest)
        return Attribution(view, receipt, self.keys_pinned)

    def register(
        self, image: BinaryIO | None, manifest: bytes | None, latents: list[bytes], mime: str
    ) -> dict[str, Any]:
        """Register an output (``manifest`` None: the image's C2PA credentials carry it).

        ``latents`` are the chain's envelopes (JSON bytes each), sent as one JSON array.
        """
        try:
            chain = json.dumps([json.loads(e) for e in latents]).encode()
        except ValueError:
            raise MaterialUnreadable("a latent record of the chain is not JSON") from None
        files: list[tuple[str, tuple[str, Any, str]]] = []
        if manifest is not None:
            files.append(("manifest", ("manifest.json", manifest, "application/json")))
        files.append(("latents", ("latents.json", chain, "application/json")))
        if image is not None:
            files.append(("image", ("image", image, mime)))
        answer = self._json(self._send("POST", "/api/v1/outputs", files=files))
        self._receipt(answer.get("receipt"), answer.get("entry"), str(answer.get("image_digest")))
        return answer

    def reprint(
        self,
        image: BinaryIO,
        image_digest: str,
        mime: str,
        *,
        reprinter: str,
        commercial: bool,
        derivative: bool,
        attribution: bool,
    ) -> Reprint:
        """Ask for a reprint; the statement and both receipts are verified before returning."""
        request = {
            "reprinter": reprinter,
            "commercial": commercial,
            "derivative": derivative,
            "attribution": attribution,
        }
        files = [
            ("request", ("request.json", json.dumps(request).encode(), "application/json")),
            ("image", ("image", image, mime)),
        ]
        answer = self._json(self._send("POST", "/api/v1/reprints", files=files))
        if answer.get("image_digest") != image_digest:
            raise HubAnswerInvalid(f"the hub answered about {answer.get('image_digest')}")
        statement = self._statement(answer.get("statement"), image_digest)
        receipt = self._receipt(answer.get("receipt"), answer.get("entry"), image_digest)
        original = str(answer.get("original"))
        registration = verify_receipt(_mapping(answer.get("registration_receipt")), self.log_key())
        predicate = statement["predicate"]
        if (
            predicate.get("original", {}).get("imageDigest") != original
            or predicate.get("original", {}).get("logIndex") != registration.log_index
            or predicate.get("reprint", {}).get("logIndex") != receipt.log_index
        ):
            raise HubAnswerInvalid("the attribution statement names other log entries")
        return Reprint(answer, statement, receipt, registration, self.keys_pinned)

    def _statement(self, envelope_json: object, image_digest: str) -> dict[str, Any]:
        try:
            envelope = Envelope.from_json(envelope_json)
        except BundleFormatError as exc:
            raise HubAnswerInvalid(f"the attribution statement: {exc}") from None
        key = self.hub_key()
        if not any(verify_bytes(key, s.sig, envelope.pae()) for s in envelope.signatures):
            raise HubAnswerInvalid("the attribution statement is not signed by the hub's key")
        try:
            statement = json.loads(envelope.payload)
            subject = statement["subject"][0]["digest"]["sha256"]
            kind = statement["predicateType"]
            predicate = statement["predicate"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise HubAnswerInvalid(
                "the attribution statement is not an in-toto statement"
            ) from None
        if kind != ATTRIBUTION_TYPE or not isinstance(predicate, dict):
            raise HubAnswerInvalid(f"the statement's predicate type is {kind!r}")
        if "sha256:" + str(subject) != image_digest:
            raise HubAnswerInvalid("the attribution statement is about another image")
        return dict(statement)


def _mapping(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise HubAnswerInvalid("the hub's answer carries no registration receipt")
    return value


def _hub_key(pem: bytes) -> PublicKey:
    try:
        return load_public_key(pem)
    except KeyLoadError as exc:
        raise HubAnswerInvalid(f"the hub key is not a public key: {exc}") from None
