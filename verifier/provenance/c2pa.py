"""Validate C2PA Content Credentials offline, ingredients included, against a trust list.

Rules (the first failure raises):

1. The bytes must be the PNG or JPEG the caller says; they are validated exactly
   as received (wrapped in a stream, never re-encoded or copied to disk).
2. ``c2pa-python`` reads them with remote manifest fetching **off**, OCSP
   fetching off and trust checking on, with the caller's PEM anchors as the
   only trust list. A manifest that is not embedded (it asks for a remote
   fetch) is refused; so is an image without a manifest.
3. The active manifest must validate as ``Trusted`` with no failure status.
   A failure that is only about the signing credential is reported as
   :class:`C2paUntrustedSigner`; anything else as :class:`C2paValidationFailed`.
4. Every ingredient must validate. A reprint made from a tampered parent still
   validates at the top level; the failure is visible only in the ingredient's
   own results. An ingredient's failures are those recorded when it was added
   (its ``validation_results``, nested ingredients included) and those the
   reader finds when it re-validates the ingredient's manifest (its
   ``ingredientDeltas``). A recorded failure is superseded only when the
   re-validation reports a success of the same family for the same URL (for
   example ``signingCredential.trusted`` under *our* trust list replacing the
   creator's ``signingCredential.untrusted``); a data hash mismatch, which
   cannot be re-checked without the parent's bytes, never is. An ingredient
   that has a manifest but no validation results at all fails.
5. The Custody assertion, when present, must be well formed and, when it
   carries an output manifest, name the same model version as that manifest.
   The output manifest's signature is *not* checked here: pass it to
   :func:`~verifier.provenance.verify_output`, as ``custody output verify --c2pa``
   and the reprint hub do.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography import x509

from signing.provenance.c2pa_module import c2pa_module
from signing.provenance.c2pa_sign import CUSTODY_ASSERTION_LABEL, check_image_type
from signing.provenance.errors import ProvenanceFormatError
from signing.provenance.statements import (
    MODEL_REFERENCE,
    SHA256_DIGEST,
    OutputStatement,
    decode_statement,
    parse_envelope,
)
from verifier.provenance.errors import (
    C2paAssertionInvalid,
    C2paIngredientInvalid,
    C2paInputInvalid,
    C2paManifestMissing,
    C2paRemoteManifest,
    C2paUntrustedSigner,
    C2paValidationFailed,
)

__all__ = [
    "Ancestor",
    "C2paResult",
    "CustodyAssertion",
    "IngredientResult",
    "StatusCodes",
    "StatusEntry",
    "verify_c2pa",
]

MAX_ANCESTORS = 64


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One C2PA validation status: its code, the JUMBF URL it is about, the explanation."""

    code: str
    url: str = ""
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class StatusCodes:
    """C2PA validation statuses by kind."""

    success: tuple[StatusEntry, ...] = ()
    informational: tuple[StatusEntry, ...] = ()
    failure: tuple[StatusEntry, ...] = ()

    @classmethod
    def from_json(cls, data: object) -> StatusCodes:
        """From a ``{success, informational, failure}`` object of c2pa's JSON."""
        if not isinstance(data, Mapping):
            return cls()
        return cls(*(_entries(data.get(kind)) for kind in ("success", "informational", "failure")))


@dataclass(frozen=True, slots=True)
class IngredientResult:
    """The validation of one ingredient: as recorded when it was added, as re-validated now,
    and the failures that stand (``failures``; empty means the ingredient passed)."""

    title: str
    relationship: str
    manifest_label: str | None
    recorded: StatusCodes
    deltas: StatusCodes
    failures: tuple[StatusEntry, ...]

    @property
    def ok(self) -> bool:
        """Whether the ingredient passed."""
        return not self.failures


@dataclass(frozen=True, slots=True)
class CustodyAssertion:
    """The Custody assertion: model version and, if embedded, the output manifest envelope.

    ``output_image_digest`` is the subject the (not yet verified) output manifest
    claims: the image as rendered, before credentials were embedded.
    """

    model_reference: str
    model_manifest_digest: str
    output_manifest: bytes | None = None
    output_image_digest: str | None = None


@dataclass(frozen=True, slots=True)
class Ancestor:
    """A manifest the image descends from (through ``parentOf`` ingredients), nearest first."""

    label: str
    depth: int
    custody: CustodyAssertion | None


@dataclass(frozen=True, slots=True)
class C2paResult:
    """A validated C2PA manifest store."""

    validation_state: str
    active_manifest: str
    status: StatusCodes
    ingredients: tuple[IngredientResult, ...]
    custody: CustodyAssertion | None
    ancestors: tuple[Ancestor, ...]
    signer_common_name: str | None = None
    signer_issuer: str | None = None
    actions: tuple[str, ...] = ()
    digital_source_types: tuple[str, ...] = ()
    failure_codes: tuple[str, ...] = ()


class _AssertionData(msgspec.Struct, forbid_unknown_fields=True, frozen=True, rename="camel"):
    model_reference: str
    model_manifest_digest: str
    output_manifest: dict[str, Any] | None = None


def _entries(data: object) -> tuple[StatusEntry, ...]:
    if not isinstance(data, list):
        return ()
    return tuple(
        StatusEntry(str(e.get("code", "")), str(e.get("url", "")), str(e.get("explanation", "")))
        for e in data
        if isinstance(e, Mapping)
    )


_CONTEXT_LOCK = threading.Lock()
_CONTEXTS: dict[str, Any] = {}
_MAX_CONTEXTS = 8


def _context(trust_anchors_pem: bytes) -> Any:
    """A c2pa Context for these anchors (cached: building one parses the PEM bundle)."""
    key = hashlib.sha256(trust_anchors_pem).hexdigest()
    with _CONTEXT_LOCK:
        context = _CONTEXTS.get(key)
        if context is not None:
            return context
    try:
        anchors = x509.load_pem_x509_certificates(trust_anchors_pem)
    except ValueError as exc:
        raise C2paInputInvalid(f"the C2PA trust anchors are not PEM certificates: {exc}") from None
    if not anchors:
        raise C2paInputInvalid("no C2PA trust anchor is configured")
    c2pa = c2pa_module()
    settings = {
        "verify": {
            "verify_after_reading": True,
            "verify_trust": True,
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
        },
        "trust": {"trust_anchors": trust_anchors_pem.decode("ascii")},
    }
    context = c2pa.Context.from_dict(settings)
    with _CONTEXT_LOCK:
        if len(_CONTEXTS) >= _MAX_CONTEXTS:
            _CONTEXTS.pop(next(iter(_CONTEXTS)))
        _CONTEXTS[key] = context
    return context


def _read_store(image_bytes: bytes, mime: str, trust_anchors_pem: bytes) -> dict[str, Any]:
    try:
        check_image_type(image_bytes, mime)
    except ProvenanceFormatError as exc:
        raise C2paInputInvalid(str(exc)) from None
    context = _context(trust_anchors_pem)
    c2pa = c2pa_module()
    try:
        with c2pa.Reader(mime, io.BytesIO(image_bytes), context=context) as reader:
            if not reader.is_embedded() or reader.get_remote_url() is not None:
                raise C2paRemoteManifest("the C2PA manifest is remote; fetching it is refused")
            store = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        raise C2paManifestMissing("the image carries no C2PA manifest") from None
    except c2pa.C2paError as exc:
        message = " ".join(str(exc).split())
        if message.startswith("Remote") or isinstance(exc, c2pa.C2paError.RemoteManifest):
            raise C2paRemoteManifest(
                f"the C2PA manifest is remote; fetching it is refused ({message})"
            ) from None
        raise C2paInputInvalid(f"c2pa cannot read the image: {message}") from None
    if not isinstance(store, dict) or not isinstance(store.get("manifests"), dict):
        raise C2paInputInvalid("c2pa returned no manifest store")
    return store


def _family(code: str) -> str:
    return code.split(".", 1)[0]


def _recorded_failures(results: object) -> list[StatusEntry]:
    """Every failure in an ingredient's recorded validation results, nested ones included."""
    if not isinstance(results, Mapping):
        return []
    found = list(StatusCodes.from_json(results.get("activeManifest")).failure)
    for delta in results.get("ingredientDeltas") or []:
        if isinstance(delta, Mapping):
            found.extend(StatusCodes.from_json(delta.get("validationDeltas")).failure)
    return found


def _ingredients(
    manifest: Mapping[str, Any], active_label: str, deltas: Sequence[Any]
) -> tuple[IngredientResult, ...]:
    by_uri: dict[str, StatusCodes] = {}
    for delta in deltas:
        if isinstance(delta, Mapping):
            uri = str(delta.get("ingredientAssertionURI", ""))
            by_uri[uri] = StatusCodes.from_json(delta.get("validationDeltas"))
    results = []
    for ingredient in manifest.get("ingredients") or []:
        if not isinstance(ingredient, Mapping):
            continue
        label = str(ingredient.get("label", ""))
        uri_suffix = f"/{active_label}/c2pa.assertions/{label}"
        delta = next(
            (codes for uri, codes in by_uri.items() if uri.endswith(uri_suffix)), StatusCodes()
        )
        recorded_raw = ingredient.get("validation_results")
        recorded = StatusCodes.from_json(
            recorded_raw.get("activeManifest") if isinstance(recorded_raw, Mapping) else None
        )
        redecided = {(_family(s.code), s.url) for s in delta.success}
        failures = [
            f for f in _recorded_failures(recorded_raw) if (_family(f.code), f.url) not in redecided
        ]
        failures.extend(delta.failure)
        manifest_label = ingredient.get("active_manifest")
        has_results = recorded_raw is not None or any(
            (delta.success, delta.informational, delta.failure)
        )
        if manifest_label and not has_results:
            failures.append(
                StatusEntry(
                    "custody.ingredient.unvalidated",
                    label,
                    "the ingredient has a manifest but no validation results",
                )
            )
        results.append(
            IngredientResult(
                title=str(ingredient.get("title", "")),
                relationship=str(ingredient.get("relationship", "")),
                manifest_label=str(manifest_label) if manifest_label else None,
                recorded=recorded,
                deltas=delta,
                failures=tuple(failures),
            )
        )
    return tuple(results)


def _custody(manifest: Mapping[str, Any], label: str) -> CustodyAssertion | None:
    found = [
        a
        for a in manifest.get("assertions") or []
        if isinstance(a, Mapping) and a.get("label") == CUSTODY_ASSERTION_LABEL
    ]
    if not found:
        return None
    if len(found) > 1:
        raise C2paAssertionInvalid(f"manifest {label} has {len(found)} Custody assertions")
    try:
        data = msgspec.convert(found[0].get("data"), _AssertionData)
    except msgspec.ValidationError as exc:
        raise C2paAssertionInvalid(
            f"the Custody assertion of {label} is malformed: {exc}"
        ) from None
    if not re.fullmatch(MODEL_REFERENCE, data.model_reference) or not re.fullmatch(
        SHA256_DIGEST, data.model_manifest_digest
    ):
        raise C2paAssertionInvalid(f"the Custody assertion of {label} names no pinned model")
    if not data.model_reference.endswith("@" + data.model_manifest_digest):
        raise C2paAssertionInvalid(
            f"the Custody assertion of {label}: the reference does not pin the manifest digest"
        )
    if data.output_manifest is None:
        return CustodyAssertion(data.model_reference, data.model_manifest_digest)
    envelope = json.dumps(data.output_manifest, separators=(",", ":")).encode()
    try:
        statement = decode_statement(parse_envelope(envelope).payload, OutputStatement)
    except ProvenanceFormatError as exc:
        raise C2paAssertionInvalid(
            f"the output manifest in {label}'s Custody assertion is malformed: {exc}"
        ) from None
    if statement.predicate.model.reference != data.model_reference:
        raise C2paAssertionInvalid(
            f"the Custody assertion of {label} names model {data.model_reference}, its output "
            f"manifest {statement.predicate.model.reference}"
        )
    return CustodyAssertion(
        data.model_reference, data.model_manifest_digest, envelope, statement.image_digest
    )


def _ancestors(store: Mapping[str, Any], active_label: str) -> tuple[Ancestor, ...]:
    manifests: Mapping[str, Any] = store["manifests"]
    found: list[Ancestor] = []
    seen = {active_label}
    frontier = [(active_label, 0)]
    while frontier and len(found) < MAX_ANCESTORS:
        label, depth = frontier.pop(0)
        for ingredient in manifests.get(label, {}).get("ingredients") or []:
            parent = ingredient.get("active_manifest") if isinstance(ingredient, Mapping) else None
            if ingredient.get("relationship") != "parentOf" or not parent or parent in seen:
                continue
            seen.add(parent)
            manifest = manifests.get(parent)
            custody = _custody(manifest, parent) if isinstance(manifest, Mapping) else None
            found.append(Ancestor(parent, depth + 1, custody))
            frontier.append((parent, depth + 1))
    return tuple(found)


def _actions(manifest: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    actions: list[str] = []
    sources: list[str] = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, Mapping):
            continue
        if str(assertion.get("label", "")).split(".v")[0] != "c2pa.actions":
            continue
        data = assertion.get("data")
        for action in data.get("actions", []) if isinstance(data, Mapping) else []:
            if isinstance(action, Mapping):
                actions.append(str(action.get("action", "")))
                if action.get("digitalSourceType"):
                    sources.append(str(action["digitalSourceType"]))
    return tuple(actions), tuple(sources)


def verify_c2pa(image_bytes: bytes, mime: str, trust_anchors_pem: bytes) -> C2paResult:
    """Validate the Content Credentials of ``image_bytes`` (see the module rules).

    Returns the result on success; raises a ``C2pa*`` error otherwise. Validation
    failures carry the C2PA status codes (``codes``) and the full result
    (``result``), so a caller can show what failed.
    """
    store = _read_store(image_bytes, mime, trust_anchors_pem)
    active_label = store.get("active_manifest")
    manifests: Mapping[str, Any] = store["manifests"]
    if not isinstance(active_label, str) or not isinstance(manifests.get(active_label), Mapping):
        raise C2paManifestMissing("the C2PA manifest store has no active manifest")
    manifest: Mapping[str, Any] = manifests[active_label]
    validation = store.get("validation_results")
    validation = validation if isinstance(validation, Mapping) else {}
    status = StatusCodes.from_json(validation.get("activeManifest"))
    ingredients = _ingredients(manifest, active_label, validation.get("ingredientDeltas") or [])
    actions, sources = _actions(manifest)
    signature = manifest.get("signature_info")
    signature = signature if isinstance(signature, Mapping) else {}
    state = str(store.get("validation_state", ""))
    failure_codes = tuple(f.code for f in status.failure)
    result = C2paResult(
        validation_state=state,
        active_manifest=active_label,
        status=status,
        ingredients=ingredients,
        custody=None,
        ancestors=(),
        signer_common_name=signature.get("common_name"),
        signer_issuer=signature.get("issuer"),
        actions=actions,
        digital_source_types=sources,
        failure_codes=failure_codes,
    )
    if status.failure or state != "Trusted":
        codes = failure_codes or (f"validation_state:{state or 'none'}",)
        kind = (
            C2paUntrustedSigner
            if all(c.startswith("signingCredential.") for c in failure_codes)
            else C2paValidationFailed
        )
        raise kind(f"C2PA validation failed: {', '.join(codes)}", codes=codes, result=result)
    broken = [i for i in ingredients if not i.ok]
    if broken:
        codes = tuple(f.code for i in broken for f in i.failures)
        names = ", ".join(f"{i.title or i.manifest_label} ({i.relationship})" for i in broken)
        raise C2paIngredientInvalid(
            f"C2PA ingredient(s) failed validation: {names}: {', '.join(codes)}",
            codes=codes,
            result=result,
        )
    return C2paResult(
        validation_state=state,
        active_manifest=active_label,
        status=status,
        ingredients=ingredients,
        custody=_custody(manifest, active_label),
        ancestors=_ancestors(store, active_label),
        signer_common_name=result.signer_common_name,
        signer_issuer=result.signer_issuer,
        actions=actions,
        digital_source_types=sources,
        failure_codes=(),
    )
