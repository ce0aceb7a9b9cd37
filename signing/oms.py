"""OpenSSF Model Signing (OMS) v1: in-toto statements and Sigstore bundles.

An OMS signature is a Sigstore bundle (media type
``application/vnd.dev.sigstore.bundle.v0.3+json``) whose content is a DSSE
envelope over an in-toto Statement v1:

* ``predicateType`` is ``https://model_signing/signature/v1.0``;
* ``predicate.resources`` lists ``{name, algorithm, digest}`` in manifest order;
* ``predicate.serialization`` records method, hash, shard size, symlink flag
  and ignored paths;
* the single subject is named after the model and its ``sha256`` digest is
  SHA-256 over the resource digests (raw bytes) concatenated **in the listed
  order** - readers recompute it in that order, never re-sorted.

The verification material is ``publicKey.hint`` (SHA-256 of the public key's
PEM text) for key signatures, ``x509CertificateChain`` (leaf first) for
certificate signatures, and ``certificate`` + ``tlogEntries`` for Sigstore.

Older layouts are read too: the v0.2 ``https://model_signing/Digests/v0.1``
predicate (one subject per file), bundles without ``ignore_paths`` or
``tlogEntries``, and ``publicKey.rawBytes`` instead of ``hint``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, b64decode_strict
from signing.errors import BundleFormatError, StatementFormatError
from signing.manifest import (
    SINGLE_FILE_NAME,
    Manifest,
    Method,
    Resource,
    Serialization,
    check_name,
    split_shard_name,
)
from signing.media_types import SIGSTORE_BUNDLE, SIGSTORE_BUNDLE_PREFIX

__all__ = [
    "BUNDLE_MEDIA_TYPE",
    "LEGACY_PREDICATE_TYPE",
    "MAX_BUNDLE_SIZE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "Bundle",
    "MaterialKind",
    "SignedStatement",
    "VerificationMaterial",
    "read_statement",
    "statement_payload",
]

BUNDLE_MEDIA_TYPE = SIGSTORE_BUNDLE
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
LEGACY_PREDICATE_TYPE = "https://model_signing/Digests/v0.1"
MAX_BUNDLE_SIZE = 64 * 1024 * 1024


def statement_payload(manifest: Manifest) -> bytes:
    """The in-toto statement for ``manifest``, as the bytes that get signed."""
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": manifest.model_name, "digest": {"sha256": manifest.root_digest().hex()}}
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "resources": [
                {"name": r.name, "algorithm": r.algorithm, "digest": r.hex}
                for r in manifest.resources
            ],
            "serialization": manifest.serialization.to_json(),
        },
    }
    return json.dumps(statement, indent=2, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class SignedStatement:
    """What a verified payload says: the manifest, and whether it is the v0.2 layout."""

    manifest: Manifest
    predicate_type: str
    legacy: bool = False


def _hex_digest(value: object, size: int | None, where: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise StatementFormatError(f"{where} is missing or not a string")
    try:
        digest = bytes.fromhex(value)
    except ValueError:
        raise StatementFormatError(f"{where} is not hex") from None
    if size is not None and len(digest) != size:
        raise StatementFormatError(f"{where} has {len(digest)} bytes, expected {size}")
    return digest


def _load_json_object(payload: bytes, what: str) -> Mapping[str, Any]:
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StatementFormatError(f"{what} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise StatementFormatError(f"{what} is not a JSON object")
    return data


def read_statement(payload: bytes) -> SignedStatement:
    """Parse an OMS statement into a manifest; checks structure, names and the subject digest.

    Raises :class:`~signing.errors.StatementFormatError` or, for a resource name
    that would escape the model, :class:`~signing.errors.UnsafePathError`.
    """
    statement = _load_json_object(payload, "the DSSE payload")
    if statement.get("_type") != STATEMENT_TYPE:
        raise StatementFormatError(
            f"statement _type is {statement.get('_type')!r}, expected {STATEMENT_TYPE}"
        )
    predicate_type = statement.get("predicateType")
    if predicate_type == LEGACY_PREDICATE_TYPE:
        return _read_legacy(statement)
    if predicate_type != PREDICATE_TYPE:
        raise StatementFormatError(
            f"predicateType {predicate_type!r} is not an OMS model signature ({PREDICATE_TYPE})"
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise StatementFormatError("an OMS statement has exactly one subject")
    subject = subjects[0]
    subject_digest = subject.get("digest")
    if not isinstance(subject_digest, dict):
        raise StatementFormatError("subject.digest is missing")
    expected_root = _hex_digest(subject_digest.get("sha256"), 32, "subject.digest.sha256")
    model_name = subject.get("name", "")
    if not isinstance(model_name, str):
        raise StatementFormatError("subject.name is not a string")

    predicate = statement.get("predicate")
    if not isinstance(predicate, dict):
        raise StatementFormatError("predicate is missing")
    serialization = Serialization.from_json(predicate.get("serialization"))
    raw_resources = predicate.get("resources")
    if not isinstance(raw_resources, list):
        raise StatementFormatError("predicate.resources is missing")
    size = serialization.hash_algorithm.digest_size
    resources: list[Resource] = []
    for index, item in enumerate(raw_resources):
        where = f"predicate.resources[{index}]"
        if not isinstance(item, dict):
            raise StatementFormatError(f"{where} is not an object")
        name, algorithm = item.get("name"), item.get("algorithm")
        if not isinstance(name, str) or not isinstance(algorithm, str):
            raise StatementFormatError(f"{where} needs string 'name' and 'algorithm'")
        if serialization.method is Method.SHARDS:
            split_shard_name(name)
        else:
            check_name(name)
        if not serialization.accepts_resource_algorithm(algorithm):
            raise StatementFormatError(
                f"{where} algorithm {algorithm!r} disagrees with the serialization "
                f"({serialization.resource_algorithm})"
            )
        resources.append(Resource(name, algorithm, _hex_digest(item.get("digest"), size, where)))
    manifest = Manifest(model_name, serialization, tuple(resources))
    _check_single_file(manifest)
    if manifest.root_digest() != expected_root:
        raise StatementFormatError(
            "subject digest does not match the listed resources (statement is inconsistent)"
        )
    return SignedStatement(manifest, PREDICATE_TYPE)


def _check_single_file(manifest: Manifest) -> None:
    files = manifest.file_names()
    if SINGLE_FILE_NAME in files and len(files) > 1:
        raise StatementFormatError("resource '.' (a single-file model) cannot have siblings")


def _read_legacy(statement: Mapping[str, Any]) -> SignedStatement:
    """The v0.2 layout: one in-toto subject per file, sha256 only, nothing in the predicate."""
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise StatementFormatError("legacy statement has no subjects")
    serialization = Serialization.files("sha256")
    resources = []
    for index, item in enumerate(subjects):
        where = f"subject[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise StatementFormatError(f"{where} needs a string name")
        digest = item.get("digest")
        if not isinstance(digest, dict):
            raise StatementFormatError(f"{where}.digest is missing")
        name = check_name(item["name"])
        resources.append(Resource(name, "sha256", _hex_digest(digest.get("sha256"), 32, where)))
    manifest = Manifest("", serialization, tuple(resources))
    _check_single_file(manifest)
    return SignedStatement(manifest, LEGACY_PREDICATE_TYPE, legacy=True)


class MaterialKind:
    """Which verification material a bundle carries."""

    PUBLIC_KEY = "publicKey"
    CERTIFICATE_CHAIN = "x509CertificateChain"
    CERTIFICATE = "certificate"


@dataclass(frozen=True, slots=True)
class VerificationMaterial:
    """The bundle's ``verificationMaterial``, reduced to what verifiers use.

    Nothing here is trusted: a verifier checks a key hint against a key it
    already trusts and a certificate chain against anchors it already trusts.
    """

    kind: str
    hint: str | None = None
    raw_public_key: bytes | None = None
    certificates: tuple[bytes, ...] = ()
    tlog_entries: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON as written into a bundle (only what Custody produces)."""
        out: dict[str, Any]
        if self.kind == MaterialKind.PUBLIC_KEY:
            out = {"publicKey": {"hint": self.hint}}
        elif self.kind == MaterialKind.CERTIFICATE_CHAIN:
            out = {
                "x509CertificateChain": {
                    "certificates": [
                        {"rawBytes": base64.b64encode(der).decode("ascii")}
                        for der in self.certificates
                    ]
                }
            }
        else:
            raise BundleFormatError("Custody does not write Sigstore keyless material")
        out["tlogEntries"] = []
        return out

    @classmethod
    def from_json(cls, data: object) -> VerificationMaterial:
        """Parse ``verificationMaterial``; raises :class:`~signing.errors.BundleFormatError`."""
        if not isinstance(data, Mapping):
            raise BundleFormatError("verificationMaterial is missing")
        present = [
            k
            for k in (
                MaterialKind.PUBLIC_KEY,
                MaterialKind.CERTIFICATE_CHAIN,
                MaterialKind.CERTIFICATE,
            )
            if k in data
        ]
        if len(present) != 1:
            raise BundleFormatError(
                "verificationMaterial needs exactly one of publicKey, "
                f"x509CertificateChain or certificate (found {present or 'none'})"
            )
        tlog = data.get("tlogEntries", [])
        if not isinstance(tlog, list):
            raise BundleFormatError("verificationMaterial.tlogEntries is not a list")
        kind = present[0]
        if kind == MaterialKind.PUBLIC_KEY:
            key = data[kind]
            if not isinstance(key, Mapping):
                raise BundleFormatError("verificationMaterial.publicKey is not an object")
            hint = key.get("hint")
            raw = key.get("rawBytes")
            if hint is not None and not isinstance(hint, str):
                raise BundleFormatError("publicKey.hint is not a string")
            if not hint and raw is None:
                raise BundleFormatError("publicKey needs a hint or rawBytes")
            raw_bytes = b64decode_strict(raw, "publicKey.rawBytes") if raw is not None else None
            return cls(kind, hint or None, raw_bytes, (), len(tlog))
        if kind == MaterialKind.CERTIFICATE_CHAIN:
            chain = data[kind]
            certs = chain.get("certificates") if isinstance(chain, Mapping) else None
            if not isinstance(certs, list) or not certs:
                raise BundleFormatError("x509CertificateChain.certificates is missing or empty")
            ders = tuple(
                b64decode_strict(
                    c.get("rawBytes") if isinstance(c, Mapping) else None,
                    f"x509CertificateChain.certificates[{i}].rawBytes",
                )
                for i, c in enumerate(certs)
            )
            return cls(kind, None, None, ders, len(tlog))
        cert = data[kind]
        der = b64decode_strict(
            cert.get("rawBytes") if isinstance(cert, Mapping) else None,
            "certificate.rawBytes",
        )
        if "tlogEntries" not in data:
            raise BundleFormatError("a Sigstore (certificate) bundle needs tlogEntries")
        return cls(kind, None, None, (der,), len(tlog))


@dataclass(frozen=True, slots=True)
class Bundle:
    """A parsed OMS bundle. ``document`` keeps the JSON for Sigstore's own verifier."""

    media_type: str
    material: VerificationMaterial
    envelope: Envelope
    document: Mapping[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def create(cls, envelope: Envelope, material: VerificationMaterial) -> Bundle:
        """A new v0.3 bundle."""
        document = {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": material.to_json(),
            "dsseEnvelope": envelope.to_json(),
        }
        return cls(BUNDLE_MEDIA_TYPE, material, envelope, document)

    def to_bytes(self) -> bytes:
        """The bundle file's bytes."""
        return (json.dumps(self.document, indent=2) + "\n").encode("utf-8")

    @classmethod
    def parse(cls, data: bytes) -> Bundle:
        """Parse bundle bytes; raises :class:`~signing.errors.BundleFormatError`.

        The DSSE payload type must be in-toto; a bundle holding a
        ``messageSignature`` instead of a ``dsseEnvelope`` is not an OMS bundle.
        """
        if len(data) > MAX_BUNDLE_SIZE:
            raise BundleFormatError(f"bundle is larger than {MAX_BUNDLE_SIZE} bytes")
        if not data.strip():
            raise BundleFormatError("bundle is empty")
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleFormatError(
                f"bundle is not JSON ({exc.__class__.__name__}: {exc})"
            ) from None
        if not isinstance(document, dict):
            raise BundleFormatError("bundle is not a JSON object")
        media_type = document.get("mediaType")
        if not isinstance(media_type, str) or not media_type.startswith(SIGSTORE_BUNDLE_PREFIX):
            raise BundleFormatError(f"mediaType {media_type!r} is not a Sigstore bundle")
        material = VerificationMaterial.from_json(document.get("verificationMaterial"))
        if "dsseEnvelope" not in document:
            if "messageSignature" in document:
                raise BundleFormatError(
                    "bundle holds a messageSignature, not a DSSE envelope: not an OMS signature"
                )
            raise BundleFormatError("bundle has no dsseEnvelope")
        if "messageSignature" in document:
            raise BundleFormatError("bundle has both messageSignature and dsseEnvelope")
        envelope = Envelope.from_json(document["dsseEnvelope"])
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
            raise BundleFormatError(
                f"DSSE payload type {envelope.payload_type!r} is not in-toto "
                f"({IN_TOTO_PAYLOAD_TYPE})"
            )
        return cls(media_type, material, envelope, document)
