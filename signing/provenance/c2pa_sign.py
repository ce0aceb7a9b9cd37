"""Embed C2PA Content Credentials in a generated PNG or JPEG through ``c2pa-python``.

The manifest records a ``c2pa.created`` action whose digital source type is
IPTC's ``trainedAlgorithmicMedia`` (for a derived image: ``c2pa.opened`` on the
parent ingredient, then ``c2pa.edited`` with that source type), and a Custody
assertion (:data:`CUSTODY_ASSERTION_LABEL`) carrying the model version and,
when given, the signed output manifest. The output manifest names the image as
it was *before* the credentials were embedded (embedding changes the bytes);
C2PA's own hard binding ties the assertion to the final bytes.

C2PA signs with an X.509 certificate: the signer must be a
:class:`~signing.signers.CertificateSigner` (leaf first). Thumbnails are off
(they cost most of the signing time and say nothing about provenance), and no
timestamp authority is contacted, so the certificate must still be valid when
the image is validated.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signing.provenance.c2pa_module import c2pa_module
from signing.provenance.errors import C2paSigningError, ProvenanceFormatError
from signing.provenance.statements import model_ref, parse_envelope
from signing.signers import CertificateSigner

__all__ = [
    "C2PA_MIME_TYPES",
    "CUSTODY_ASSERTION_LABEL",
    "TRAINED_ALGORITHMIC_MEDIA",
    "sign_c2pa",
]

CUSTODY_ASSERTION_LABEL = "invalid.custody.provenance"
"""Entity-specific C2PA assertion label (the reverse of the project's domain, custody.invalid)."""
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
C2PA_MIME_TYPES = ("image/png", "image/jpeg")
_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def check_image_type(image_bytes: bytes, mime: str) -> None:
    """Refuse a type other than PNG/JPEG, or bytes that are not what ``mime`` says."""
    if mime not in C2PA_MIME_TYPES:
        raise ProvenanceFormatError(f"{mime!r} is not one of {', '.join(C2PA_MIME_TYPES)}")
    if not image_bytes.startswith(_MAGIC[mime]):
        raise ProvenanceFormatError(f"the bytes are not a {mime} image")


def _algorithm(signer: CertificateSigner) -> Any:
    c2pa = c2pa_module()
    key = signer.public_key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return c2pa.C2paSigningAlg.ED25519
    if isinstance(key, ec.EllipticCurvePublicKey):
        by_curve = {
            "secp256r1": c2pa.C2paSigningAlg.ES256,
            "secp384r1": c2pa.C2paSigningAlg.ES384,
            "secp521r1": c2pa.C2paSigningAlg.ES512,
        }
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
    raise C2paSigningError(f"C2PA cannot sign with a {type(key).__name__}")


def custody_assertion(model_reference: str, output_manifest: bytes | None) -> dict[str, Any]:
    """The Custody assertion's data: the model version and the output manifest envelope."""
    model = model_ref(model_reference)
    data: dict[str, Any] = {
        "modelReference": model.reference,
        "modelManifestDigest": model.manifest_digest,
    }
    if output_manifest is not None:
        parse_envelope(output_manifest)  # refuse to embed something that is not an envelope
        data["outputManifest"] = json.loads(output_manifest)
    return data


def sign_c2pa(
    image_bytes: bytes,
    mime: str,
    signer: CertificateSigner,
    *,
    model_reference: str,
    output_manifest: bytes | None = None,
    parents: Sequence[tuple[bytes, str]] = (),
    title: str = "generated image",
    generator: str = "custody",
) -> bytes:
    """The image with Content Credentials embedded (new bytes; the input is not changed).

    ``parents`` are the ``(bytes, mime)`` of the images a derived image was made
    from; they become ``parentOf`` ingredients (with their own credentials, if any).
    """
    c2pa = c2pa_module()
    check_image_type(image_bytes, mime)
    for parent, parent_mime in parents:
        check_image_type(parent, parent_mime)
    if len(parents) > 1:
        raise ProvenanceFormatError("a C2PA manifest has at most one parentOf ingredient")
    actions: list[dict[str, Any]]
    if parents:
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
            {"action": "c2pa.edited", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA},
        ]
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]
    definition = {
        "claim_generator_info": [{"name": generator}],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {
                "label": CUSTODY_ASSERTION_LABEL,
                "data": custody_assertion(model_reference, output_manifest),
            },
        ],
    }
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in signer.chain)
    output = io.BytesIO()
    try:
        context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        with c2pa.Builder(definition, context=context) as builder:
            for parent, parent_mime in parents:
                builder.add_ingredient(
                    {"title": "parent", "relationship": "parentOf", "label": "parent"},
                    parent_mime,
                    io.BytesIO(parent),
                )
            c2pa_signer = c2pa.Signer.from_callback(
                signer.sign, _algorithm(signer), chain_pem.decode("ascii"), None
            )
            with c2pa_signer:
                builder.sign(c2pa_signer, mime, io.BytesIO(image_bytes), output)
    except c2pa.C2paError as exc:
        raise C2paSigningError(f"c2pa could not sign the image: {exc}") from exc
    return output.getvalue()
