"""Keys: generation, PEM (de)serialisation, key identifiers and raw signatures.

Supported signing keys are ECDSA on P-256, P-384 and P-521 (interoperable with
model_signing) and Ed25519 (Custody verifies it; model_signing 1.1.1 refuses
any key that is not ECDSA). ML-DSA-65 public keys are accepted for
verification of the experimental post-quantum OMS bundles.

The ECDSA hash follows the curve, as OMS requires: P-256 with SHA-256, P-384
with SHA-384, P-521 with SHA-512.

A public key has one identifier, spelt one way everywhere (``custody keygen``,
``sign``, ``verify`` and its JSON, error messages, provenance envelopes,
threshold counting): :func:`key_id`, which is the OMS key hint - what an OMS
bundle carries in ``publicKey.hint`` and what ``model_signing`` computes: the
SHA-256 of the key's PEM text (SubjectPublicKeyInfo, as ``cryptography``
writes it), lower-case hex. For ML-DSA it is ``ML_DSA_65:<sha256 of the raw
key>``.

:func:`legacy_key_id` is the identifier Custody used before (SHA-256 of the DER
SubjectPublicKeyInfo; for ML-DSA the bare SHA-256 of the raw key). Provenance
records signed before the change carry it and stay in the transparency log, so
verifiers accept it as a second name of a key they already trust; nothing new
is ever written with it (ADR 0008).
"""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa

from signing.errors import KeyLoadError

__all__ = [
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "generate_private_key",
    "key_id",
    "key_type_of",
    "legacy_key_id",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_pem",
    "sign_bytes",
    "verify_bytes",
    "write_key_pair",
]

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | mldsa.MLDSA65PublicKey

_ML_DSA_65_RAW_SIZE = 1952
_ML_DSA_65_HINT_PREFIX = "ML_DSA_65:"


class KeyType(enum.StrEnum):
    """Key types ``custody keygen`` can create."""

    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    ECDSA_P521 = "ecdsa-p521"
    ED25519 = "ed25519"


_CURVES: dict[KeyType, ec.EllipticCurve] = {
    KeyType.ECDSA_P256: ec.SECP256R1(),
    KeyType.ECDSA_P384: ec.SECP384R1(),
    KeyType.ECDSA_P521: ec.SECP521R1(),
}
_CURVE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


@dataclass(frozen=True, slots=True)
class KeyPairPaths:
    """Where :func:`write_key_pair` put the two halves."""

    private: Path
    public: Path


def generate_private_key(key_type: KeyType | str) -> PrivateKey:
    """A fresh private key of the given type."""
    kind = KeyType(key_type)
    if kind is KeyType.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(_CURVES[kind])


def key_type_of(key: PrivateKey | PublicKey) -> str:
    """A short name for a key's algorithm (``ecdsa-p384``, ``ed25519``, ``ml-dsa-65``)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        for kind, curve in _CURVES.items():
            if curve.name == key.curve.name:
                return str(kind)
        return f"ecdsa-{key.curve.name}"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return str(KeyType.ED25519)
    return "ml-dsa-65"


def private_key_pem(key: PrivateKey, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def public_key_pem(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM text of a public key."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: PublicKey) -> str:
    """The key's identifier: SHA-256 of its PEM SubjectPublicKeyInfo text, hex (the OMS hint)."""
    if isinstance(key, mldsa.MLDSA65PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return _ML_DSA_65_HINT_PREFIX + hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(public_key_pem(key)).hexdigest()


def legacy_key_id(key: PublicKey) -> str:
    """The pre-OMS-hint identifier (SHA-256 of the DER public key): for verification only."""
    if isinstance(key, mldsa.MLDSA65PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _check_supported(key: object) -> PublicKey:
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVE_HASHES:
            raise KeyLoadError(
                f"ECDSA curve {key.curve.name} is not supported (use P-256, P-384 or P-521)"
            )
        return key
    if isinstance(key, ed25519.Ed25519PublicKey | mldsa.MLDSA65PublicKey):
        return key
    raise KeyLoadError(
        f"{type(key).__name__} keys are not supported (use ECDSA P-256/P-384/P-521 or Ed25519)"
    )


def load_public_key(data: bytes) -> PublicKey:
    """Parse a public key: SubjectPublicKeyInfo PEM or DER, or a raw ML-DSA-65 key.

    Text before the ``-----BEGIN`` line (some tools prepend a dump) is skipped.
    """
    marker = data.find(b"-----BEGIN")
    try:
        if marker >= 0:
            key: object = serialization.load_pem_public_key(data[marker:])
        elif len(data) == _ML_DSA_65_RAW_SIZE:
            key = mldsa.MLDSA65PublicKey.from_public_bytes(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyLoadError(f"not a supported public key: {exc}") from exc
    return _check_supported(key)


def load_private_key(data: bytes, passphrase: bytes | None = None) -> PrivateKey:
    """Parse a PEM private key, decrypting it with ``passphrase`` when it is encrypted."""
    marker = data.find(b"-----BEGIN")
    if marker < 0:
        raise KeyLoadError("not a PEM private key")
    try:
        key = serialization.load_pem_private_key(data[marker:], password=passphrase or None)
    except TypeError as exc:
        if passphrase:
            raise KeyLoadError("the key is not encrypted but a passphrase was given") from exc
        raise KeyLoadError("the key is encrypted: a passphrase is needed") from exc
    except ValueError as exc:
        if passphrase:
            raise KeyLoadError("cannot decrypt the key: wrong passphrase?") from exc
        raise KeyLoadError(f"not a usable private key: {exc}") from exc
    except UnsupportedAlgorithm as exc:
        raise KeyLoadError(f"unsupported private key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyLoadError(
            f"{type(key).__name__} keys cannot sign OMS bundles here "
            "(use ECDSA P-256/P-384/P-521 or Ed25519)"
        )
    _check_supported(key.public_key())
    return key


def ecdsa_hash(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> hashes.HashAlgorithm:
    """The hash OMS pairs with an ECDSA curve."""
    try:
        return _CURVE_HASHES[key.curve.name]()
    except KeyError:
        raise KeyLoadError(f"ECDSA curve {key.curve.name} is not supported") from None


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    """A raw signature over ``data`` (DER ECDSA with the curve's hash, or Ed25519)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(ecdsa_hash(key)))
    return key.sign(data)


def verify_bytes(
    key: PublicKey,
    signature: bytes,
    data: bytes,
    *,
    ecdsa_hash_override: hashes.HashAlgorithm | None = None,
) -> bool:
    """Whether ``signature`` is a valid signature by ``key`` over ``data``."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(ecdsa_hash_override or ecdsa_hash(key)))
        else:
            key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def write_key_pair(
    out: str | os.PathLike[str],
    key_type: KeyType | str,
    passphrase: bytes | None,
    *,
    overwrite: bool = False,
) -> KeyPairPaths:
    """Generate a key pair; write ``OUT`` (private, mode 0600) and ``OUT.pub``.

    Refuses to replace existing files unless ``overwrite`` is set.
    """
    private_path = Path(out)
    public_path = private_path.with_name(private_path.name + ".pub")
    if not overwrite:
        for path in (private_path, public_path):
            if path.exists():
                raise KeyLoadError(f"{path} already exists (refusing to overwrite it)")
    key = generate_private_key(key_type)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    if not overwrite:
        flags |= os.O_EXCL
    fd = os.open(private_path, flags, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key, passphrase))
    public_path.write_bytes(public_key_pem(key.public_key()))
    return KeyPairPaths(private_path, public_path)
