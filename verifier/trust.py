"""Trusted signers: the things a verifier already trusts, and how each authenticates a bundle.

A trusted signer takes a parsed OMS bundle and either returns the verified
payload with the signer's identity, or raises. Nothing in the bundle is
trusted before that: a key hint only selects, a certificate chain is only
believed after it leads to an anchor the verifier holds.

* :class:`TrustedKey` - a public key (ECDSA P-256/P-384/P-521, Ed25519,
  ML-DSA-65).
* :class:`TrustedCertificateAuthority` - CA roots, optional intermediates and
  optional subject constraints; the chain must be valid at the verification
  time (now by default: key and certificate bundles carry no trusted time).
* :class:`TrustedSigstoreIdentity` - an OIDC issuer and subject, exact by
  default, an anchored pattern only when asked for, verified offline against a
  Sigstore trusted root. Everything Sigstore-specific (sigstore-python, trusted
  roots, the Fulcio issuer extension) is in :mod:`verifier._sigstore`, which
  this module uses and which never imports it back.
"""

from __future__ import annotations

import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
)
from cryptography.x509.verification import VerificationError as X509VerificationError

from signing.dsse import Envelope
from signing.errors import FormatError, UnsafePathError
from signing.keys import PublicKey, key_id, key_type_of, verify_bytes
from signing.manifest import Manifest
from signing.media_types import IN_TOTO_JSON
from signing.oms import (
    LEGACY_PREDICATE_TYPE,
    Bundle,
    MaterialKind,
    SignedStatement,
    read_statement,
)
from verifier._sigstore import load_trusted_root, verify_dsse_bundle
from verifier.errors import (
    BundleInvalid,
    CertificateChainInvalid,
    IdentityMismatch,
    KeyMismatch,
    SignatureInvalid,
    UnsafeModelPath,
    UntrustedSigner,
)
from verifier.identity import PRINCIPAL_FORMAT, SignerIdentity, certificate_sans

__all__ = [
    "PRINCIPAL_FORMAT",
    "Authenticated",
    "SignerIdentity",
    "SubjectConstraint",
    "TrustedCertificateAuthority",
    "TrustedKey",
    "TrustedSigner",
    "TrustedSigstoreIdentity",
]

_logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Authenticated:
    """A bundle whose signature verified: the statement it carries and who signed it."""

    statement: SignedStatement
    identity: SignerIdentity

    @property
    def manifest(self) -> Manifest:
        """The signed manifest."""
        return self.statement.manifest


def read_verified_payload(payload: bytes) -> SignedStatement:
    """Parse a payload whose signature has been verified; map format errors to verifier errors."""
    try:
        return read_statement(payload)
    except UnsafePathError as exc:
        raise UnsafeModelPath(f"the signature names an unsafe file: {exc}") from exc
    except FormatError as exc:
        raise BundleInvalid(f"the signed statement is malformed: {exc}") from exc


def _legacy_pae(payload: bytes) -> bytes:
    """The encoding model_signing 0.2 signed by mistake (its PAE embedded ``repr(payload)``)."""
    kind = IN_TOTO_JSON
    return f"DSSEV1 {len(kind)} {kind} {len(payload)} {payload!r}".encode()


def _is_legacy(payload: bytes) -> bool:
    """Whether an (unverified) payload claims the v0.2 predicate (whose PAE bug we honour)."""
    try:
        statement = json.loads(payload)
    except ValueError:
        return False
    return isinstance(statement, dict) and statement.get("predicateType") == LEGACY_PREDICATE_TYPE


def _envelope_signed_by(envelope: Envelope, key: PublicKey) -> bool:
    """Whether any envelope signature verifies with ``key``.

    The standard DSSE encoding is tried first. The broken encoding of
    model_signing 0.2 (optionally with its hard-coded SHA-256) is accepted only
    for ECDSA keys and only for payloads of the v0.2 predicate, for backward
    compatibility with signatures made then.
    """
    pae = envelope.pae()
    for signature in envelope.signatures:
        if verify_bytes(key, signature.sig, pae):
            return True
    if isinstance(key, ec.EllipticCurvePublicKey) and _is_legacy(envelope.payload):
        legacy = _legacy_pae(envelope.payload)
        for signature in envelope.signatures:
            if verify_bytes(key, signature.sig, legacy) or verify_bytes(
                key, signature.sig, legacy, ecdsa_hash_override=hashes.SHA256()
            ):
                _logger.warning(
                    "signature uses the pre-1.0 model_signing encoding; ask the signer to re-sign"
                )
                return True
    return False


class TrustedSigner(ABC):
    """Something the verifier trusts to sign models."""

    name: str

    @abstractmethod
    def authenticate(self, bundle: Bundle) -> Authenticated:
        """Verify ``bundle`` as signed by this signer; raise a :class:`VerificationError` if not."""

    def describe(self) -> str:
        """A short label for messages."""
        return self.name


class TrustedKey(TrustedSigner):
    """A public key trusted to sign."""

    def __init__(self, public_key: PublicKey, *, name: str = "") -> None:
        self.public_key = public_key
        self.key_id = key_id(public_key)
        self.name = name or f"{key_type_of(public_key)} key {self.key_id[:16]}"

    def authenticate(self, bundle: Bundle) -> Authenticated:
        material = bundle.material
        if material.kind != MaterialKind.PUBLIC_KEY:
            raise KeyMismatch(
                f"the bundle carries {material.kind}, not a public-key signature ({self.name})"
            )
        if material.hint is not None and material.hint != self.key_id:
            raise KeyMismatch(
                f"the bundle was signed by key {material.hint}, "
                f"not by the trusted key {self.key_id} ({self.name})"
            )
        if not _envelope_signed_by(bundle.envelope, self.public_key):
            raise SignatureInvalid(
                f"the signature does not verify with {self.name} "
                "(edited payload, or signed by another key)"
            )
        statement = read_verified_payload(bundle.envelope.payload)
        return Authenticated(statement, SignerIdentity("key", self.key_id, trusted_as=self.name))


@dataclass(frozen=True, slots=True)
class SubjectConstraint:
    """Constraints on a leaf certificate. Exact values; ``san_pattern`` is an anchored regex.

    Every field given must hold. ``subject`` is the RFC 4514 string of the
    whole subject name (``CN=release,O=Acme``).
    """

    subject: str | None = None
    common_name: str | None = None
    san: str | None = None
    san_pattern: str | None = None

    def check(self, certificate: x509.Certificate) -> None:
        """Raise :class:`IdentityMismatch` unless the certificate satisfies every constraint."""
        actual_subject = certificate.subject.rfc4514_string()
        if self.subject is not None and actual_subject != self.subject:
            raise IdentityMismatch(
                f"certificate subject is {actual_subject!r}, policy requires {self.subject!r}"
            )
        if self.common_name is not None:
            names = [
                a.value for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            ]
            if self.common_name not in names:
                raise IdentityMismatch(
                    f"certificate common name is {names}, policy requires {self.common_name!r}"
                )
        if self.san is not None or self.san_pattern is not None:
            sans = certificate_sans(certificate)
            if self.san is not None and self.san not in sans:
                raise IdentityMismatch(
                    f"certificate SANs {sorted(sans)} do not include {self.san!r}"
                )
            if self.san_pattern is not None and not any(
                re.fullmatch(self.san_pattern, s) for s in sans
            ):
                raise IdentityMismatch(
                    f"no certificate SAN matches ^{self.san_pattern}$ (SANs: {sorted(sans)})"
                )


def _can_sign(certificate: x509.Certificate) -> bool:
    """Digital-signature key usage, or the code-signing extended key usage."""
    try:
        if certificate.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CODE_SIGNING in usages


class TrustedCertificateAuthority(TrustedSigner):
    """CA roots whose (constrained) end-entity certificates are trusted to sign.

    The chain is built with ``cryptography``'s verifier under the Web PKI rules
    for CAs (basic constraints, path length, name constraints, key usage); the
    end-entity certificate must allow digital signatures or code signing.
    ``at_time`` fixes the validity instant (default: now).
    """

    def __init__(
        self,
        roots: Sequence[x509.Certificate],
        *,
        intermediates: Sequence[x509.Certificate] = (),
        constraint: SubjectConstraint | None = None,
        at_time: datetime | None = None,
        name: str = "",
    ) -> None:
        if not roots:
            raise ValueError("a certificate authority needs at least one root")
        self.roots = tuple(roots)
        self.intermediates = tuple(intermediates)
        self.constraint = constraint or SubjectConstraint()
        self.at_time = at_time
        self.name = name or f"CA {self.roots[0].subject.rfc4514_string()}"

    def _chain(self, leaf: x509.Certificate, untrusted: Sequence[x509.Certificate]) -> None:
        ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
            x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
        )
        verifier = (
            PolicyBuilder()
            .store(Store(list(self.roots)))
            .time(self.at_time or datetime.now(UTC))
            .extension_policies(ca_policy=ca_policy, ee_policy=ExtensionPolicy.permit_all())
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, [*untrusted, *self.intermediates])
        except (X509VerificationError, ValueError) as exc:
            raise CertificateChainInvalid(
                f"certificate {leaf.subject.rfc4514_string()!r} does not chain to "
                f"{self.name}: {exc}"
            ) from exc

    def authenticate(self, bundle: Bundle) -> Authenticated:
        material = bundle.material
        if material.kind != MaterialKind.CERTIFICATE_CHAIN:
            raise UntrustedSigner(
                f"the bundle carries {material.kind}, not a certificate chain ({self.name})"
            )
        try:
            chain = [x509.load_der_x509_certificate(der) for der in material.certificates]
        except ValueError as exc:
            raise BundleInvalid(f"the bundle's certificate chain does not parse: {exc}") from exc
        leaf = chain[0]
        self._chain(leaf, chain[1:])
        if not _can_sign(leaf):
            raise CertificateChainInvalid(
                f"certificate {leaf.subject.rfc4514_string()!r} is not allowed to sign "
                "(no digitalSignature key usage or codeSigning extended key usage)"
            )
        self.constraint.check(leaf)
        try:
            public_key = leaf.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise BundleInvalid(f"the certificate's public key does not parse: {exc}") from exc
        if not isinstance(public_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise CertificateChainInvalid(
                f"certificate key type {type(public_key).__name__} is not supported"
            )
        if not _envelope_signed_by(bundle.envelope, public_key):
            raise SignatureInvalid(
                f"the signature does not verify with the key of certificate "
                f"{leaf.subject.rfc4514_string()!r}"
            )
        statement = read_verified_payload(bundle.envelope.payload)
        identity = SignerIdentity(
            "certificate",
            key_id(public_key),
            leaf.subject.rfc4514_string(),
            leaf.issuer.rfc4514_string(),
            trusted_as=self.name,
        )
        return Authenticated(statement, identity)


class TrustedSigstoreIdentity(TrustedSigner):
    """A Sigstore (keyless) identity, verified offline against a trusted root.

    ``identity`` is compared exactly; give ``identity_pattern`` instead to
    accept any SAN that fully matches a regular expression (always anchored).
    """

    def __init__(
        self,
        *,
        issuer: str,
        identity: str | None = None,
        identity_pattern: str | None = None,
        trusted_root: object | None = None,
        name: str = "",
    ) -> None:
        if (identity is None) == (identity_pattern is None):
            raise ValueError("give exactly one of identity and identity_pattern")
        if identity_pattern is not None:
            re.compile(identity_pattern)
            if identity_pattern in (".*", ".+", "(.*)", "(.+)"):
                _logger.warning(
                    "Sigstore identity pattern %r accepts ANY identity from %s",
                    identity_pattern,
                    issuer,
                )
        self.issuer = issuer
        self.identity = identity
        self.identity_pattern = identity_pattern
        self._trusted_root = trusted_root
        self.name = name or f"sigstore {identity or '^' + str(identity_pattern) + '$'}"

    def _root(self) -> object:
        if self._trusted_root is None:
            self._trusted_root = load_trusted_root(None)
        return self._trusted_root

    def authenticate(self, bundle: Bundle) -> Authenticated:
        if bundle.material.kind == MaterialKind.PUBLIC_KEY:
            raise UntrustedSigner(f"the bundle is signed by a bare key, not by {self.name}")
        verified = verify_dsse_bundle(
            bundle.document,
            self._root(),
            issuer=self.issuer,
            identity=self.identity,
            identity_pattern=self.identity_pattern,
        )
        statement = read_verified_payload(verified.payload)
        identity = SignerIdentity(
            "sigstore",
            key_id(_public_key_of(verified.certificate)),
            verified.matched,
            self.issuer,
            trusted_as=self.name,
        )
        return Authenticated(statement, identity)


def _public_key_of(cert: x509.Certificate) -> PublicKey:
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key
    raise UntrustedSigner(f"unsupported certificate key type {type(key).__name__}")
