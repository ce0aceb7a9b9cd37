"""Provenance formats for generated images: latent records, output manifests, C2PA.

Every Custody provenance document is an in-toto Statement v1 with a Custody
predicate type, signed as a DSSE envelope (JSON). Their JSON schemas are
published in ``policies/latent-record.v1.schema.json`` and
``policies/output-manifest.v1.schema.json``. ``docs/adr/0008-provenance-formats.md``
defines the fields and the digests.

Example::

    >>> from signing import KeySigner, generate_private_key
    >>> from signing.provenance import (LatentRecorder, image_digest, new_prompt_salt,
    ...     prompt_hash, sign_output_manifest)
    >>> signer = KeySigner(generate_private_key("ed25519"))
    >>> model = "acme/sd-turbo@sha256:" + "ab" * 32
    >>> recorder = LatentRecorder(signer, model_reference=model, sampler="euler",
    ...     scheduler="karras", seed=42, guidance=7.5,
    ...     prompt_hash=prompt_hash("a red fox", new_prompt_salt()), node_id="edge-01")
    >>> for step in range(3):
    ...     _ = recorder.record(bytes(4 * 16), "float32", (1, 4, 2, 2), step)
    >>> envelope = sign_output_manifest(signer, image_digest=image_digest(b"png bytes"),
    ...     model_reference=model, final_latent=recorder.head, creator_id="alice",
    ...     license="CC-BY-NC-4.0", terms=["attribution", "non-commercial"])
    >>> len(recorder.chain)
    3
"""

from signing.provenance.c2pa_sign import (
    C2PA_MIME_TYPES,
    CUSTODY_ASSERTION_LABEL,
    TRAINED_ALGORITHMIC_MEDIA,
    sign_c2pa,
)
from signing.provenance.errors import C2paSigningError, ProvenanceFormatError
from signing.provenance.latent import (
    DTYPE_SIZES,
    LatentRecorder,
    SignedLatent,
    canonical_latent_digest,
    new_prompt_salt,
    prompt_hash,
    sign_latent_record,
)
from signing.provenance.output import image_digest, sign_output_manifest
from signing.provenance.statements import (
    LATENT_RECORD_TYPE,
    OUTPUT_MANIFEST_TYPE,
    LatentStatement,
    OutputStatement,
    decode_statement,
    parse_envelope,
    payload_digest,
    record_digest,
    statement_schema,
)

__all__ = [
    "C2PA_MIME_TYPES",
    "CUSTODY_ASSERTION_LABEL",
    "DTYPE_SIZES",
    "LATENT_RECORD_TYPE",
    "OUTPUT_MANIFEST_TYPE",
    "TRAINED_ALGORITHMIC_MEDIA",
    "C2paSigningError",
    "LatentRecorder",
    "LatentStatement",
    "OutputStatement",
    "ProvenanceFormatError",
    "SignedLatent",
    "canonical_latent_digest",
    "decode_statement",
    "image_digest",
    "new_prompt_salt",
    "parse_envelope",
    "payload_digest",
    "prompt_hash",
    "record_digest",
    "sign_c2pa",
    "sign_latent_record",
    "sign_output_manifest",
    "statement_schema",
]
