"""Everything specific to Sigstore, behind one private adapter (sigstore-python is imported lazily).

* :func:`load_trusted_root` reads the trust material named by
  ``--trust-config``: a ``ClientTrustConfig`` (``trustedRoot`` +
  ``signingConfig``) or a bare ``TrustedRoot`` JSON file, or the production /
  staging roots shipped inside the ``sigstore`` package.
* :func:`verify_sigstore_bundle` verifies a plain (non-OMS) Sigstore bundle.
* :func:`verify_dsse_bundle` verifies the DSSE envelope of an OMS bundle for
  :class:`verifier.trust.TrustedSigstoreIdentity`.
* :class:`SigstoreIdentityPolicy` is the sigstore-python ``VerificationPolicy``
  (exact OIDC issuer read by :func:`sigstore_issuer`, exact or anchored SAN).

Nothing here touches the network or the TUF cache. This module never imports
:mod:`verifier.trust` (an import-linter contract keeps it so): the trust core
depends on it, not the reverse.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from signing.media_types import IN_TOTO_JSON
from verifier.errors import (
    BundleInvalid,
    IdentityMismatch,
    IntegrityError,
    MaterialUnreadable,
    UntrustedSigner,
)
from verifier.identity import SignerIdentity, certificate_sans, der_utf8

if TYPE_CHECKING:  # sigstore takes ~0.7 s to import: only when Sigstore is used
    from sigstore.models import TrustedRoot

__all__ = [
    "SigstoreIdentityPolicy",
    "VerifiedDsse",
    "load_trusted_root",
    "sigstore_issuer",
    "verify_dsse_bundle",
    "verify_sigstore_bundle",
]

_OIDC_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_OIDC_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")

_EMBEDDED = {
    "production": "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev",
    "staging": "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev",
}
_CLIENT_TRUST_CONFIG = "application/vnd.dev.sigstore.clienttrustconfig"


def load_trusted_root(source: str | os.PathLike[str] | None) -> TrustedRoot:
    """A Sigstore trusted root from a file, or ``production`` / ``staging`` (``None`` = production).

    The named instances are the roots embedded in the installed ``sigstore``
    package; they are never refreshed from the network.
    """
    from sigstore.models import ClientTrustConfig

    if source is None or str(source) in _EMBEDDED:
        instance = "production" if source is None else str(source)
        try:
            text = (
                resources.files("sigstore._store")
                .joinpath(_EMBEDDED[instance], "trusted_root.json")
                .read_text("utf-8")
            )
        except (FileNotFoundError, ModuleNotFoundError):  # pragma: no cover - layout changed
            config = (
                ClientTrustConfig.production
                if instance == "production"
                else ClientTrustConfig.staging
            )
            return config(offline=True).trusted_root
        return _root_from_text(text, f"sigstore {instance} root")
    path = Path(source)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise MaterialUnreadable(f"cannot read trust config {str(path)!r}: {exc.strerror}") from exc
    return _root_from_text(text, str(path))


def _root_from_text(text: str, what: str) -> TrustedRoot:
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import ClientTrustConfig, TrustedRoot

    try:
        media_type = json.loads(text).get("mediaType", "")
        if str(media_type).startswith(_CLIENT_TRUST_CONFIG):
            return ClientTrustConfig.from_json(text).trusted_root
        from sigstore_models.trustroot.v1 import TrustedRoot as InnerTrustedRoot

        return TrustedRoot(InnerTrustedRoot.from_json(text))
    except (ValueError, AttributeError, SigstoreError) as exc:
        raise MaterialUnreadable(f"{what} is not a Sigstore trusted root: {exc}") from exc


def verify_sigstore_bundle(
    bundle: bytes,
    *,
    identity: str,
    issuer: str,
    trusted_root: TrustedRoot | None = None,
    artifact: bytes | None = None,
    artifact_sha256: str | None = None,
) -> SignerIdentity:
    """Verify a plain Sigstore bundle offline; return the signer.

    For a ``messageSignature`` bundle give the ``artifact`` bytes (or its
    ``artifact_sha256``). For a DSSE bundle the in-toto statement must name a
    subject with that SHA-256 when one is given.
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle as SigstoreBundle
    from sigstore.verify import Verifier
    from sigstore_models.common.v1 import HashAlgorithm as SigstoreHashAlgorithm

    root = trusted_root or load_trusted_root(None)
    try:
        parsed = SigstoreBundle.from_json(bundle)
    except (SigstoreError, ValueError) as exc:
        raise BundleInvalid(f"not a valid Sigstore bundle: {' '.join(str(exc).split())}") from exc
    policy = SigstoreIdentityPolicy(issuer, identity, None)
    verifier = Verifier(trusted_root=root)
    digest = artifact_sha256 or (
        hashlib.sha256(artifact).hexdigest() if artifact is not None else None
    )
    try:
        if parsed._dsse_envelope is not None:
            payload_type, payload = verifier.verify_dsse(parsed, policy)
            if digest is not None:
                _check_dsse_subject(payload_type, payload, digest)
        else:
            if digest is None:
                raise BundleInvalid("a message-signature bundle needs the artifact or its digest")
            hashed = Hashed(algorithm=SigstoreHashAlgorithm.SHA2_256, digest=bytes.fromhex(digest))
            verifier.verify_artifact(hashed, parsed, policy)
    except SigstoreError as exc:
        message = policy.failure or " ".join(str(exc).split())
        raise UntrustedSigner(f"Sigstore verification failed: {message}") from exc
    return SignerIdentity("sigstore", None, identity, issuer, trusted_as="sigstore")


def _check_dsse_subject(payload_type: str, payload: bytes, digest: str) -> None:
    if payload_type != IN_TOTO_JSON:
        raise BundleInvalid(f"DSSE payload type {payload_type!r} is not in-toto")
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        found = {s["digest"].get("sha256") for s in subjects}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BundleInvalid(f"the signed in-toto statement is malformed: {exc}") from exc
    if digest not in found:
        raise IntegrityError(f"no subject of the signed statement has sha256 {digest}")


@dataclass(slots=True)
class SigstoreIdentityPolicy:
    """A sigstore-python VerificationPolicy: exact issuer, exact or anchored-pattern subject."""

    issuer: str
    identity: str | None
    pattern: str | None
    matched: list[str] = field(default_factory=list)
    failure: str | None = None

    def verify(self, cert: x509.Certificate) -> None:
        from sigstore.errors import VerificationError as SigstoreVerificationError

        actual_issuer = sigstore_issuer(cert)
        if actual_issuer != self.issuer:
            self.failure = f"OIDC issuer is {actual_issuer!r}, expected {self.issuer!r}"
            raise SigstoreVerificationError(self.failure)
        sans = certificate_sans(cert)
        if self.identity is not None:
            hits = [self.identity] if self.identity in sans else []
        else:
            hits = sorted(s for s in sans if self.pattern and re.fullmatch(self.pattern, s))
        if not hits:
            wanted = self.identity if self.identity is not None else f"^{self.pattern}$"
            self.failure = f"certificate identity {sorted(sans)} does not match {wanted!r}"
            raise SigstoreVerificationError(self.failure)
        self.matched[:] = hits


def sigstore_issuer(cert: x509.Certificate) -> str | None:
    """The OIDC issuer a Fulcio certificate records (v2 extension first, then v1)."""
    for oid, der in ((_OIDC_ISSUER_V2, True), (_OIDC_ISSUER_V1, False)):
        try:
            ext = cert.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        raw = ext.value if isinstance(ext, x509.UnrecognizedExtension) else b""
        return der_utf8(raw) if der else raw.decode("utf-8", "replace")
    return None


@dataclass(frozen=True, slots=True)
class VerifiedDsse:
    """An OMS bundle's DSSE envelope, verified by Sigstore: its in-toto payload and signer."""

    payload: bytes
    certificate: x509.Certificate
    matched: str | None


def verify_dsse_bundle(
    document: object,
    trusted_root: object,
    *,
    issuer: str,
    identity: str | None,
    identity_pattern: str | None,
) -> VerifiedDsse:
    """Verify the DSSE envelope of an OMS bundle ``document`` (parsed JSON) offline.

    The Fulcio certificate must carry ``issuer`` and a SAN equal to
    ``identity`` or fully matching ``identity_pattern``; the payload must be
    in-toto. The payload is returned unparsed.
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import Bundle as SigstoreBundle
    from sigstore.models import InvalidBundle
    from sigstore.models import TrustedRoot as SigstoreTrustedRoot
    from sigstore.verify import Verifier

    if not isinstance(trusted_root, SigstoreTrustedRoot):
        raise TypeError("trusted_root must be a sigstore.models.TrustedRoot")
    try:
        sigstore_bundle = SigstoreBundle.from_json(json.dumps(document))
    except (InvalidBundle, ValueError) as exc:
        raise BundleInvalid(f"not a valid Sigstore bundle: {exc}") from exc
    policy = SigstoreIdentityPolicy(issuer, identity, identity_pattern)
    try:
        verifier = Verifier(trusted_root=trusted_root)
        payload_type, payload = verifier.verify_dsse(sigstore_bundle, policy)
    except SigstoreError as exc:
        if policy.failure is not None:
            raise IdentityMismatch(f"Sigstore: {policy.failure}") from exc
        message = " ".join(str(exc).split())
        raise UntrustedSigner(f"Sigstore verification failed: {message}") from exc
    except (ValueError, TypeError) as exc:
        raise UntrustedSigner(f"Sigstore verification failed: {exc}") from exc
    if payload_type != IN_TOTO_JSON:
        raise BundleInvalid(f"DSSE payload type {payload_type!r} is not in-toto")
    matched = policy.matched[0] if policy.matched else identity
    return VerifiedDsse(payload, sigstore_bundle.signing_certificate, matched)
