"""Sigstore trust roots, and verification of plain (non-OMS) Sigstore bundles, offline.

:func:`load_trusted_root` reads the trust material named by ``--trust-config``:
a ``ClientTrustConfig`` (``trustedRoot`` + ``signingConfig``) or a bare
``TrustedRoot`` JSON file, or the production / staging roots shipped inside
the ``sigstore`` package. Nothing here touches the network or the TUF cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.errors import BundleInvalid, IntegrityError, MaterialUnreadable, UntrustedSigner
from verifier.trust import SignerIdentity, SigstoreIdentityPolicy

if TYPE_CHECKING:  # sigstore takes ~0.7 s to import: only when Sigstore is used
    from sigstore.models import TrustedRoot

__all__ = ["load_trusted_root", "verify_sigstore_bundle"]

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
    if payload_type != "application/vnd.in-toto+json":
        raise BundleInvalid(f"DSSE payload type {payload_type!r} is not in-toto")
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        found = {s["digest"].get("sha256") for s in subjects}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BundleInvalid(f"the signed in-toto statement is malformed: {exc}") from exc
    if digest not in found:
        raise IntegrityError(f"no subject of the signed statement has sha256 {digest}")
