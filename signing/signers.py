"""Signers, chosen by a key reference.

A :class:`Signer` signs bytes and says what verification material goes into
the bundle. Callers never construct backends directly: they pass a reference
to :func:`load_signer`, whose scheme picks the backend::

    release.pem              a PEM private key file (same as file:release.pem)
    file:/keys/release.pem   the same, explicit
    pkcs11:token=...;object=...   (no backend built in: register one)
    awskms://..., gcpkms://..., azurekms://..., hashivault://...  (likewise)

A backend is a factory ``(reference, secrets) -> Signer`` registered with
:func:`register_scheme`; adding KMS or PKCS#11 support is one new module and
one registration, with no change for callers. Passphrases and PINs are asked
for through a ``secrets`` callback only when a backend needs them.

An X.509 certificate chain (leaf for the signing key, then intermediates) turns
any signer into a :class:`CertificateSigner`, whose bundles carry the chain.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.errors import CertificateMismatch, KeyLoadError, UnsupportedKeyReference
from signing.keys import (
    PrivateKey,
    PublicKey,
    key_id,
    key_type_of,
    load_private_key,
    sign_bytes,
)
from signing.oms import MaterialKind, VerificationMaterial

__all__ = [
    "CertificateSigner",
    "KeySigner",
    "SecretsHandler",
    "Signer",
    "load_certificate_chain",
    "load_signer",
    "register_scheme",
]

SecretsHandler = Callable[[str], str]
"""Asked for a secret by name (``"passphrase"``, ``"pin"``); returns it."""

SignerFactory = Callable[[str, SecretsHandler | None], "Signer"]

_SCHEME = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*):(?!\\)")


class Signer(ABC):
    """Something that can sign the DSSE pre-authentication encoding of a payload."""

    @property
    @abstractmethod
    def public_key(self) -> PublicKey:
        """The public half of the signing key."""

    @abstractmethod
    def sign(self, data: bytes) -> bytes:
        """A raw signature over ``data``."""

    def verification_material(self) -> VerificationMaterial:
        """What the bundle tells verifiers: by default, the key hint."""
        return VerificationMaterial(MaterialKind.PUBLIC_KEY, hint=key_id(self.public_key))

    def describe(self) -> str:
        """A short human description (key type and key id)."""
        return f"{key_type_of(self.public_key)} key {key_id(self.public_key)[:16]}"


class KeySigner(Signer):
    """A signer holding a private key in memory."""

    def __init__(self, private_key: PrivateKey) -> None:
        self._key = private_key

    @property
    def public_key(self) -> PublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return sign_bytes(self._key, data)

    @classmethod
    def from_pem_file(
        cls, path: str | os.PathLike[str], secrets: SecretsHandler | None = None
    ) -> KeySigner:
        """Load a PEM private key, asking ``secrets("passphrase")`` if it is encrypted."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise KeyLoadError(f"cannot read key {os.fspath(path)!r}: {exc.strerror}") from exc
        try:
            return cls(load_private_key(data))
        except KeyLoadError as exc:
            if "passphrase is needed" not in str(exc) or secrets is None:
                raise
        passphrase = secrets("passphrase")
        return cls(load_private_key(data, passphrase.encode("utf-8")))


class CertificateSigner(Signer):
    """A signer whose bundles carry an X.509 chain: leaf first, then intermediates."""

    def __init__(self, signer: Signer, chain: Sequence[x509.Certificate]) -> None:
        if not chain:
            raise CertificateMismatch("a certificate chain needs at least the signing certificate")
        own = _spki(signer.public_key)
        leaves = [c for c in chain if _spki(c.public_key()) == own]
        if not leaves:
            raise CertificateMismatch(
                "no certificate in the chain holds the signing key's public key"
            )
        leaf = leaves[0]
        self._signer = signer
        self._chain = (leaf, *[c for c in chain if c is not leaf])

    @property
    def public_key(self) -> PublicKey:
        return self._signer.public_key

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """Leaf first."""
        return self._chain

    def sign(self, data: bytes) -> bytes:
        return self._signer.sign(data)

    def verification_material(self) -> VerificationMaterial:
        return VerificationMaterial(
            MaterialKind.CERTIFICATE_CHAIN,
            certificates=tuple(c.public_bytes(serialization.Encoding.DER) for c in self._chain),
        )

    def describe(self) -> str:
        return f"certificate {self._chain[0].subject.rfc4514_string()}"


def _spki(key: object) -> bytes:
    if not hasattr(key, "public_bytes"):
        return b""
    try:
        return key.public_bytes(  # type: ignore[no-any-return]
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, TypeError):
        return b""


def load_certificate_chain(paths: Sequence[str | os.PathLike[str]]) -> list[x509.Certificate]:
    """Every PEM certificate in the given files, in order."""
    certificates: list[x509.Certificate] = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CertificateMismatch(
                f"cannot read certificate file {os.fspath(path)!r}: {exc.strerror}"
            ) from exc
        try:
            certificates.extend(x509.load_pem_x509_certificates(data))
        except ValueError as exc:
            raise CertificateMismatch(
                f"{os.fspath(path)!r} holds no PEM certificate: {exc}"
            ) from exc
    return certificates


def _file_signer(reference: str, secrets: SecretsHandler | None) -> Signer:
    path = reference.removeprefix("file:")
    return KeySigner.from_pem_file(path, secrets)


_BACKENDS: dict[str, SignerFactory] = {"file": _file_signer}
_KNOWN_UNAVAILABLE = ("pkcs11", "awskms", "gcpkms", "azurekms", "hashivault")


def register_scheme(scheme: str, factory: SignerFactory) -> None:
    """Make ``scheme:...`` references resolve through ``factory``."""
    _BACKENDS[scheme] = factory


def load_signer(
    reference: str,
    *,
    certificate_chain: Sequence[str | os.PathLike[str]] = (),
    secrets: SecretsHandler | None = None,
) -> Signer:
    """The signer a key reference names, wrapped with a certificate chain if one is given.

    Raises :class:`~signing.errors.KeyLoadError` (including
    :class:`~signing.errors.UnsupportedKeyReference`) or
    :class:`~signing.errors.CertificateMismatch`.
    """
    match = _SCHEME.match(reference)
    scheme = match.group("scheme") if match and len(match.group("scheme")) > 1 else "file"
    factory = _BACKENDS.get(scheme)
    if factory is None:
        if scheme in _KNOWN_UNAVAILABLE:
            raise UnsupportedKeyReference(
                f"key reference scheme {scheme!r} has no backend in this installation; "
                "register one with signing.signers.register_scheme()"
            )
        # Not a scheme we know of: a file whose name happens to contain ':'.
        factory = _file_signer
        reference = f"file:{reference}"
    signer = factory(reference, secrets)
    if certificate_chain:
        return CertificateSigner(signer, load_certificate_chain(certificate_chain))
    return signer
