"""Third-party conformance vectors (``../shared/vectors/MANIFEST.json``).

Every valid vector verifies and every invalid one fails.

Also the negatives the vectors' README suggests, derived at test time from
valid vectors: one changed byte, an extra file, another identity, another key.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from signing.keys import generate_private_key, load_public_key
from tests.support.signing_factories import VECTORS
from verifier.errors import (
    IdentityMismatch,
    IntegrityError,
    SignatureInvalid,
    UntrustedSigner,
    VerificationError,
)
from verifier.model import VerifiedModel, verify_model
from verifier.sigstore import load_trusted_root, verify_sigstore_bundle
from verifier.trust import (
    TrustedCertificateAuthority,
    TrustedKey,
    TrustedSigner,
    TrustedSigstoreIdentity,
)

_MANIFEST = VECTORS / "MANIFEST.json"

pytestmark = pytest.mark.skipif(
    not _MANIFEST.is_file(), reason=f"conformance vectors not found at {VECTORS}"
)


def _vectors() -> list[Any]:
    if not _MANIFEST.is_file():
        return []
    entries = json.loads(_MANIFEST.read_text())["vectors"]
    return [pytest.param(v, id=v["id"]) for v in entries]


def _trusted(vector: dict[str, Any], *, identity: str | None = None) -> TrustedSigner:
    verify_with = vector["verify_with"]
    kind = vector["kind"]
    if kind in ("oms-key", "oms-ml-dsa"):
        return TrustedKey(load_public_key((VECTORS / verify_with["public_key"]).read_bytes()))
    if kind == "oms-certificate":
        anchors = [
            cert
            for path in verify_with["certificate_chain"]
            for cert in x509.load_pem_x509_certificates((VECTORS / path).read_bytes())
        ]
        return TrustedCertificateAuthority(anchors)
    return TrustedSigstoreIdentity(
        issuer=vector["issuer"],
        identity=identity or vector["identity"],
        trusted_root=load_trusted_root(VECTORS / verify_with["trust_config"]),
    )


def _verify_oms(vector: dict[str, Any], model: Path | None = None, **kwargs: Any) -> VerifiedModel:
    model_path = model or VECTORS / vector["model_path"]
    base = VECTORS / vector["model_path"]
    ignore = [os.path.relpath(VECTORS / p, base) for p in vector["ignore_paths"]]
    signature = VECTORS / vector["signature"]
    if model is not None and signature.parent == base:
        signature = model / signature.name
    return verify_model(
        model_path, signature, kwargs.pop("trusted", None) or _trusted(vector), ignore=ignore
    )


def _verify(vector: dict[str, Any]) -> None:
    if vector["kind"] == "sigstore-bundle":
        artifact = vector.get("artifact")
        verify_sigstore_bundle(
            (VECTORS / vector["bundle"]).read_bytes(),
            identity=vector["identity"],
            issuer=vector["issuer"],
            trusted_root=load_trusted_root(VECTORS / vector["verify_with"]["trust_config"]),
            artifact=(VECTORS / artifact).read_bytes() if artifact else None,
            artifact_sha256=None if artifact else vector.get("artifact_sha256"),
        )
    else:
        result = _verify_oms(vector)
        assert result.manifest is not None
        assert result.signers


@pytest.mark.parametrize("vector", _vectors())
def test_vector(vector: dict[str, Any]) -> None:
    if vector["expected"]["outcome"] == "valid":
        _verify(vector)
    else:
        with pytest.raises(VerificationError):
            _verify(vector)


def _valid_oms(kind: str) -> list[Any]:
    return [
        v
        for v in _vectors()
        if v.values[0]["kind"] == kind
        and v.values[0]["expected"]["outcome"] == "valid"
        and Path(v.values[0]["model_path"]).parts[0] == "oms"
        and (VECTORS / v.values[0]["model_path"]).is_dir()
    ]


def _copy(vector: dict[str, Any], tmp_path: Path) -> Path:
    target = tmp_path / Path(vector["model_path"].rstrip("/")).name
    shutil.copytree(VECTORS / vector["model_path"], target)
    return target


@pytest.mark.parametrize("vector", _valid_oms("oms-certificate") + _valid_oms("oms-key"))
def test_changed_byte_and_extra_file_are_rejected(vector: dict[str, Any], tmp_path: Path) -> None:
    model = _copy(vector, tmp_path)
    _verify_oms(vector, model)  # the copy itself verifies
    target = model / "signme-2" if (model / "signme-2").exists() else model / "f1"
    data = bytearray(target.read_bytes())
    data[0] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="changed"):
        _verify_oms(vector, model)
    target.write_bytes(bytes(data[:0]) + bytes([data[0] ^ 0x01]) + bytes(data[1:]))
    (model / "extra.bin").write_bytes(b"extra")
    with pytest.raises(IntegrityError, match=r"extra: extra\.bin"):
        _verify_oms(vector, model)


@pytest.mark.parametrize("vector", _valid_oms("oms-key"))
def test_another_key_is_rejected(vector: dict[str, Any]) -> None:
    other = TrustedKey(generate_private_key("ecdsa-p384").public_key())
    with pytest.raises(SignatureInvalid):
        _verify_oms(vector, trusted=other)


@pytest.mark.parametrize("vector", _valid_oms("oms-sigstore"))
def test_another_identity_is_rejected(vector: dict[str, Any]) -> None:
    with pytest.raises(IdentityMismatch):
        _verify_oms(vector, trusted=_trusted(vector, identity="mallory@example.com"))


@pytest.mark.parametrize("vector", _valid_oms("oms-sigstore")[:1])
def test_sigstore_bundle_against_the_wrong_instance_root(vector: dict[str, Any]) -> None:
    staging = TrustedSigstoreIdentity(
        issuer=vector["issuer"],
        identity=vector["identity"],
        trusted_root=load_trusted_root("staging"),
    )
    with pytest.raises(UntrustedSigner):
        _verify_oms(vector, trusted=staging)


def test_staging_plain_bundle_against_the_production_root() -> None:
    entry = next(
        v.values[0]
        for v in _vectors()
        if v.values[0]["id"] == "sigstore/staging/bundle_v3.txt.sigstore"
    )
    with pytest.raises(UntrustedSigner):
        verify_sigstore_bundle(
            (VECTORS / entry["bundle"]).read_bytes(),
            identity=entry["identity"],
            issuer=entry["issuer"],
            trusted_root=load_trusted_root("production"),
            artifact=(VECTORS / entry["artifact"]).read_bytes(),
        )


def test_every_vector_is_exercised() -> None:
    counts = json.loads(_MANIFEST.read_text())["counts"]
    assert sum(c["valid"] + c["invalid"] for c in counts.values()) == len(_vectors())
