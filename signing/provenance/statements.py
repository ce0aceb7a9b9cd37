"""The two Custody provenance statements: typed models, encoding, DSSE signing and parsing.

Both are in-toto Statement v1 documents with one subject and a Custody predicate
type, signed as a DSSE envelope (``application/vnd.in-toto+json``):

* a **latent record** (:data:`LATENT_RECORD_TYPE`): subject ``latent`` = the
  canonical digest of one latent tensor; the predicate names the model version,
  the step, the sampling parameters, a salted prompt hash, the parent record
  and the producing node;
* an **output manifest** (:data:`OUTPUT_MANIFEST_TYPE`): subject ``image`` = the
  SHA-256 of the image bytes; the predicate names the model version, the final
  latent record, the creator, the creation time, the licence, the reprint terms
  and the ingredients (parent outputs) of a derived image.

A record's digest (the value ``parent`` and ``finalLatent`` carry) is the
SHA-256 of the DSSE *payload*: the exact signed statement bytes, which do not
change when an envelope is re-serialised or re-signed. The models below are
``msgspec`` structs that reject unknown fields; the JSON schemas published in
``policies/`` are generated from them (:func:`statement_schema`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec

from signing.digests import Digest as ContentDigest
from signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, EnvelopeSignature, pae
from signing.errors import BundleFormatError, DigestError
from signing.keys import key_id, verify_bytes
from signing.provenance.errors import ProvenanceFormatError
from signing.signers import KeySigner, Signer

__all__ = [
    "KEY_ID",
    "LATENT_RECORD_TYPE",
    "MAX_ENVELOPE_BYTES",
    "MODEL_REFERENCE",
    "OUTPUT_MANIFEST_TYPE",
    "PROMPT_HASH",
    "SHA256_DIGEST",
    "SPDX_EXPRESSION",
    "TERM",
    "CreatorInfo",
    "Ingredient",
    "LatentInfo",
    "LatentPredicate",
    "LatentStatement",
    "ModelRef",
    "NodeInfo",
    "OutputPredicate",
    "OutputStatement",
    "SignedEnvelope",
    "Subject",
    "decode_statement",
    "hex_of",
    "model_ref",
    "parse_envelope",
    "payload_digest",
    "record_digest",
    "sign_statement",
    "statement_schema",
]

LATENT_RECORD_TYPE: Final = "https://custody.invalid/provenance/latent-record/v1"
OUTPUT_MANIFEST_TYPE: Final = "https://custody.invalid/provenance/output-manifest/v1"
_STATEMENT_V1: Final = "https://in-toto.io/Statement/v1"
MAX_ENVELOPE_BYTES = 256 * 1024
"""A record is a few hundred bytes; anything this large is refused before parsing."""

_HEX64 = r"[0-9a-f]{64}"
SHA256_DIGEST = rf"^sha256:{_HEX64}$"
# signing.keys.key_id: the OMS key hint, hex; ML-DSA keys carry the algorithm prefix.
KEY_ID = rf"^(ML_DSA_65:)?{_HEX64}$"
# repository[@registry host prefix allowed] @ manifest digest, as OCI spells a pinned reference.
MODEL_REFERENCE = rf"^[a-z0-9][a-z0-9._:/-]*@sha256:{_HEX64}$"
PROMPT_HASH = rf"^hmac-sha256:{_HEX64}$"
TERM = r"^[a-z0-9][a-z0-9.-]*$"
# An SPDX license expression: identifiers, LicenseRef-/DocumentRef-, WITH/AND/OR, parentheses.
SPDX_EXPRESSION = r"^[A-Za-z0-9.+:()-]+( (AND|OR|WITH|and|or|with) [A-Za-z0-9.+:()-]+)*$"

Digest = Annotated[str, msgspec.Meta(pattern=SHA256_DIGEST, description="'sha256:' + 64 hex.")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Scalar = str | int | float | bool


class _Model(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True, rename="camel"):
    """Base of the statement models: camelCase on the wire, unknown fields are errors."""


class Subject(_Model, frozen=True, kw_only=True):
    """The one in-toto subject: a name and its SHA-256."""

    name: Literal["latent", "image"]
    digest: dict[Literal["sha256"], Annotated[str, msgspec.Meta(pattern=f"^{_HEX64}$")]]

    @property
    def sha256(self) -> str:
        """``sha256:<hex>``."""
        return f"sha256:{self.digest['sha256']}"


class ModelRef(_Model, frozen=True, kw_only=True):
    """The model version: its registry reference pinned by digest, and that digest."""

    reference: Annotated[
        str,
        msgspec.Meta(
            pattern=MODEL_REFERENCE,
            max_length=512,
            description="'<repository>@sha256:<hex>', e.g. 'acme/sd-turbo@sha256:...'.",
        ),
    ]
    manifest_digest: Digest

    def __post_init__(self) -> None:
        if not self.reference.endswith("@" + self.manifest_digest):
            raise ValueError("reference does not pin manifestDigest")

    @property
    def repository(self) -> str:
        """The repository part of the reference."""
        return self.reference.rsplit("@", 1)[0]


class LatentInfo(_Model, frozen=True, kw_only=True):
    """How the latent tensor was laid out when its digest was taken."""

    dtype: Label
    shape: Annotated[list[Annotated[int, msgspec.Meta(ge=0)]], msgspec.Meta(max_length=16)]
    layout: Literal["C"] = "C"


class NodeInfo(_Model, frozen=True, kw_only=True):
    """The node that produced a latent: a claimed identity, its signing key, its runtime."""

    id: Label
    key_id: Annotated[
        str,
        msgspec.Meta(pattern=KEY_ID, description="SHA-256 of the public key PEM (OMS key hint)."),
    ]
    runtime: dict[Label, Annotated[str, msgspec.Meta(max_length=256)]] = {}


class CreatorInfo(_Model, frozen=True, kw_only=True):
    """The creator of an output: a claimed identity and the key that signs for it."""

    id: Label
    key_id: Annotated[
        str,
        msgspec.Meta(pattern=KEY_ID, description="SHA-256 of the public key PEM (OMS key hint)."),
    ]


class LatentPredicate(_Model, frozen=True, kw_only=True):
    """What produced one latent: model, step, sampling parameters, prompt hash, parent, node."""

    model: ModelRef
    step: Annotated[int, msgspec.Meta(ge=0)]
    sampler: Label
    scheduler: Label
    seed: Annotated[int, msgspec.Meta(ge=0)]
    guidance: float
    parameters: dict[Label, Scalar] = {}
    prompt_hash: Annotated[
        str,
        msgspec.Meta(
            pattern=PROMPT_HASH, description="HMAC-SHA256 of the UTF-8 prompt, keyed by a salt."
        ),
    ]
    parent: Digest | None
    node: NodeInfo
    latent: LatentInfo


class Ingredient(_Model, frozen=True, kw_only=True):
    """A parent output a derived image was made from."""

    digest: Digest
    relationship: Literal["parentOf"] = "parentOf"


class OutputPredicate(_Model, frozen=True, kw_only=True):
    """Who made an image, from which model version and latent chain, under which terms."""

    model: ModelRef
    final_latent: Digest
    creator: CreatorInfo
    created: Annotated[datetime, msgspec.Meta(tz=True)]
    license: Annotated[str, msgspec.Meta(pattern=SPDX_EXPRESSION, max_length=256)]
    terms: Annotated[
        list[Annotated[str, msgspec.Meta(pattern=TERM, max_length=64)]],
        msgspec.Meta(max_length=32),
    ]
    ingredients: list[Ingredient] = []

    def __post_init__(self) -> None:
        if len(set(self.terms)) != len(self.terms):
            raise ValueError("terms repeat a value")


class LatentStatement(_Model, frozen=True, kw_only=True):
    """An in-toto Statement v1 carrying a latent record."""

    type: Literal["https://in-toto.io/Statement/v1"] = msgspec.field(
        default=_STATEMENT_V1, name="_type"
    )
    subject: Annotated[list[Subject], msgspec.Meta(min_length=1, max_length=1)]
    predicate_type: Literal["https://custody.invalid/provenance/latent-record/v1"] = (
        LATENT_RECORD_TYPE
    )
    predicate: LatentPredicate

    def __post_init__(self) -> None:
        if self.subject[0].name != "latent":
            raise ValueError("a latent record's subject is named 'latent'")

    @property
    def latent_digest(self) -> str:
        """The canonical digest of the latent tensor."""
        return self.subject[0].sha256


class OutputStatement(_Model, frozen=True, kw_only=True):
    """An in-toto Statement v1 carrying an output manifest."""

    type: Literal["https://in-toto.io/Statement/v1"] = msgspec.field(
        default=_STATEMENT_V1, name="_type"
    )
    subject: Annotated[list[Subject], msgspec.Meta(min_length=1, max_length=1)]
    predicate_type: Literal["https://custody.invalid/provenance/output-manifest/v1"] = (
        OUTPUT_MANIFEST_TYPE
    )
    predicate: OutputPredicate

    def __post_init__(self) -> None:
        if self.subject[0].name != "image":
            raise ValueError("an output manifest's subject is named 'image'")
        parents = [i.digest for i in self.predicate.ingredients]
        if len(set(parents)) != len(parents) or self.subject[0].sha256 in parents:
            raise ValueError("ingredients repeat, or name the image itself")

    @property
    def image_digest(self) -> str:
        """The SHA-256 of the image bytes."""
        return self.subject[0].sha256


S = TypeVar("S", LatentStatement, OutputStatement)

_ENCODER = msgspec.json.Encoder()


def payload_digest(payload: bytes) -> str:
    """The digest of a record: SHA-256 over the signed statement bytes."""
    return str(ContentDigest.of_bytes(payload))


@dataclass(frozen=True, slots=True)
class SignedEnvelope:
    """A signed statement: the DSSE envelope (JSON bytes) and the record's digest."""

    envelope: bytes
    digest: str


def sign_statement(
    statement: LatentStatement | OutputStatement, signer: Signer, *, keyid: str = ""
) -> SignedEnvelope:
    """Validate ``statement`` as a verifier would, then sign it as a DSSE envelope.

    ``keyid`` is the signer's :func:`~signing.keys.key_id` (the OMS key hint); it
    only helps a verifier pick a key, it is never trusted.
    """
    payload = _ENCODER.encode(statement)
    # Struct construction skips the field constraints; decoding applies them all,
    # so nothing is signed that a verifier would refuse.
    if isinstance(statement, LatentStatement):
        decode_statement(payload, LatentStatement)
    else:
        decode_statement(payload, OutputStatement)
    signed = pae(IN_TOTO_PAYLOAD_TYPE, payload)
    signature = signer.sign(signed)
    # A remote backend (HSM, KMS) that returns a bad signature must fail here, not at the
    # verifier. An in-memory key signs through OpenSSL directly: re-verifying every record
    # would triple the per-step cost (Ed25519 verifies slower than it signs).
    if not isinstance(signer, KeySigner) and not verify_bytes(signer.public_key, signature, signed):
        raise ProvenanceFormatError("the signer produced a signature its own public key rejects")
    envelope = Envelope(
        payload,
        IN_TOTO_PAYLOAD_TYPE,
        (EnvelopeSignature(signature, keyid or key_id(signer.public_key)),),
    )
    document = json.dumps(envelope.to_json(), separators=(",", ":")).encode("ascii")
    return SignedEnvelope(document, payload_digest(payload))


def parse_envelope(data: bytes) -> Envelope:
    """A DSSE envelope from JSON bytes (not verified); raises ProvenanceFormatError."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise ProvenanceFormatError(
            f"envelope is {len(data)} bytes, more than the {MAX_ENVELOPE_BYTES} allowed"
        )
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProvenanceFormatError(f"envelope is not JSON: {exc}") from None
    try:
        envelope = Envelope.from_json(document)
    except BundleFormatError as exc:
        raise ProvenanceFormatError(str(exc).replace("dsseEnvelope", "envelope")) from None
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise ProvenanceFormatError(
            f"envelope payloadType is {envelope.payload_type!r}, not {IN_TOTO_PAYLOAD_TYPE!r}"
        )
    return envelope


def record_digest(envelope: bytes) -> str:
    """The digest of the record an envelope carries (SHA-256 of its payload)."""
    return payload_digest(parse_envelope(envelope).payload)


def decode_statement(payload: bytes, kind: type[S]) -> S:
    """Decode and validate a statement of the given kind; raises ProvenanceFormatError."""
    try:
        return msgspec.json.decode(payload, type=kind, strict=True)
    except msgspec.ValidationError as exc:
        what = "latent record" if kind is LatentStatement else "output manifest"
        raise ProvenanceFormatError(f"not a valid {what}: {_clean(str(exc))}") from None
    except msgspec.DecodeError as exc:
        raise ProvenanceFormatError(f"statement is not JSON: {exc}") from None


def _clean(message: str) -> str:
    return re.sub(r"\s+", " ", message)


def statement_schema(kind: type[LatentStatement] | type[OutputStatement]) -> dict[str, Any]:
    """The JSON schema of a statement kind, as published in ``policies/``."""
    generated = msgspec.json.schema(kind)
    defs: dict[str, Any] = generated["$defs"]
    root = defs.pop(kind.__name__)
    for definition in defs.values():
        definition.pop("title", None)
    root.pop("title", None)
    name, file = (
        ("latent record", "latent-record")
        if kind is LatentStatement
        else ("output manifest", "output-manifest")
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://custody.invalid/schemas/{file}.v1.schema.json",
        "title": f"Custody {name} v1 (in-toto Statement v1, signed as a DSSE envelope)",
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def hex_of(digest: str) -> str:
    """The hex part of ``sha256:<hex>``; raises ProvenanceFormatError for anything else."""
    try:
        return ContentDigest.parse(digest).hex
    except DigestError:
        raise ProvenanceFormatError(f"digest {digest!r} is not 'sha256:<64 hex>'") from None


def model_ref(reference: str) -> ModelRef:
    """A :class:`ModelRef` from ``repository@sha256:<hex>``."""
    if not re.fullmatch(MODEL_REFERENCE, reference):
        raise ProvenanceFormatError(
            f"model reference {reference!r} is not 'repository@sha256:<64 hex>'"
        )
    return ModelRef(reference=reference, manifest_digest=reference.rsplit("@", 1)[1])
