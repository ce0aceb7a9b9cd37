"""Formats and cryptography for Custody: digests, keys, signatures, ML-BOMs.

``signing`` has no web framework, no database and no onnxruntime; it imports
neither ``verifier`` nor ``registry``. It hashes models (one parallel engine,
per-file or sharded, as OpenSSF Model Signing defines), manages keys and
signers, and writes OMS bundles (DSSE over an in-toto statement).

Example::

    >>> import tempfile, pathlib
    >>> from signing import KeySigner, generate_private_key, sign_model
    >>> model = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (model / "weights.bin").write_bytes(b"0123")
    >>> signed = sign_model(model, KeySigner(generate_private_key("ecdsa-p256")))
    >>> [r.name for r in signed.manifest.resources]
    ['weights.bin']
"""

from signing.errors import (
    BundleFormatError,
    CertificateMismatch,
    FormatError,
    HashingError,
    KeyLoadError,
    ModelPathError,
    SigningError,
    StatementFormatError,
    UnsafePathError,
    UnsupportedKeyReference,
)
from signing.hashing import HashOptions, hash_model
from signing.keys import (
    KeyType,
    generate_private_key,
    key_id,
    load_private_key,
    load_public_key,
    write_key_pair,
)
from signing.manifest import (
    HashAlgorithm,
    Manifest,
    ManifestDiff,
    Method,
    Resource,
    Serialization,
)
from signing.oms import Bundle, SignedStatement, read_statement, statement_payload
from signing.sign import SignedModel, sign_manifest, sign_model
from signing.signers import CertificateSigner, KeySigner, Signer, load_signer, register_scheme

__all__ = [
    "Bundle",
    "BundleFormatError",
    "CertificateMismatch",
    "CertificateSigner",
    "FormatError",
    "HashAlgorithm",
    "HashOptions",
    "HashingError",
    "KeyLoadError",
    "KeySigner",
    "KeyType",
    "Manifest",
    "ManifestDiff",
    "Method",
    "ModelPathError",
    "Resource",
    "Serialization",
    "SignedModel",
    "SignedStatement",
    "Signer",
    "SigningError",
    "StatementFormatError",
    "UnsafePathError",
    "UnsupportedKeyReference",
    "generate_private_key",
    "hash_model",
    "key_id",
    "load_private_key",
    "load_public_key",
    "load_signer",
    "read_statement",
    "register_scheme",
    "sign_manifest",
    "sign_model",
    "statement_payload",
    "write_key_pair",
]
