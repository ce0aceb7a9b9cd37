"""Sign then verify, and every way a model or a signature can be wrong."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from signing.keys import generate_private_key, public_key_pem
from signing.manifest import Manifest, Resource, Serialization
from signing.sign import sign_manifest, sign_model
from signing.signers import CertificateSigner, KeySigner
from tests.support.signing_factories import make_model, make_pki
from verifier.errors import (
    BundleInvalid,
    CertificateChainInvalid,
    IdentityMismatch,
    IntegrityError,
    KeyMismatch,
    MaterialUnreadable,
    SignatureInvalid,
    UnsafeModelPath,
    UntrustedSigner,
)
from verifier.model import verify_model
from verifier.trust import SubjectConstraint, TrustedCertificateAuthority, TrustedKey


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "model")


@pytest.fixture(scope="module")
def signer() -> KeySigner:
    return KeySigner(generate_private_key("ecdsa-p256"))


def _sign(model: Path, signer: KeySigner | CertificateSigner, **kwargs: Any) -> bytes:
    return sign_model(model, signer, **kwargs).bundle.to_bytes()


@pytest.mark.parametrize("kind", ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "ed25519"])
@pytest.mark.parametrize(
    "serialization",
    [Serialization.files(), Serialization.files("blake3"), Serialization.shards(4096, "blake2b")],
    ids=["files-sha256", "files-blake3", "shards-blake2b"],
)
def test_round_trip(model: Path, kind: str, serialization: Serialization) -> None:
    signer = KeySigner(generate_private_key(kind))
    bundle = _sign(model, signer, serialization=serialization)
    result = verify_model(model, bundle, TrustedKey(signer.public_key))
    assert result.manifest is not None
    assert result.manifest.serialization.method == serialization.method
    assert "weights/deep/er/scale.bin" in result.manifest.file_names()
    assert result.signers[0].kind == "key"


def test_single_file_model(tmp_path: Path, signer: KeySigner) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"onnx bytes")
    result = verify_model(path, _sign(path, signer), TrustedKey(signer.public_key))
    assert result.manifest is not None and result.manifest.file_names() == (".",)
    with pytest.raises(IntegrityError, match="directory"):
        verify_model(tmp_path, _sign(path, signer), TrustedKey(signer.public_key))


# --- tampering ------------------------------------------------------------------------------


def _flip_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            lambda m: _flip_bit(m / "weights/part-1.safetensors"),
            "changed: weights/part-1.safetensors",
        ),
        (lambda m: (m / "weights" / "new.bin").write_bytes(b"x"), "extra: weights/new.bin"),
        (lambda m: (m / "config.json").unlink(), "missing: config.json"),
        (
            lambda m: (m / "tokenizer/vocab.txt").rename(m / "tokenizer/vocab2.txt"),
            "extra: tokenizer/vocab2.txt; missing: tokenizer/vocab.txt",
        ),
    ],
    ids=["bit-flip", "extra-file", "missing-file", "renamed-file"],
)
def test_tampered_models_are_rejected(
    model: Path, signer: KeySigner, tamper: Any, message: str
) -> None:
    bundle = _sign(model, signer)
    tamper(model)
    with pytest.raises(IntegrityError) as caught:
        verify_model(model, bundle, TrustedKey(signer.public_key))
    assert message in caught.value.diagnostics()


def _edit_payload(bundle: bytes, edit: Any) -> bytes:
    document = json.loads(bundle)
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    edit(statement)
    document["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    return json.dumps(document).encode()


def test_edited_payload_is_rejected(model: Path, signer: KeySigner) -> None:
    bundle = _sign(model, signer)
    (model / "config.json").write_bytes(b'{"layers": 3}\n')

    def point_at_new_config(statement: dict[str, Any]) -> None:
        import hashlib

        for resource in statement["predicate"]["resources"]:
            if resource["name"] == "config.json":
                resource["digest"] = hashlib.sha256(b'{"layers": 3}\n').hexdigest()

    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_model(
            model, _edit_payload(bundle, point_at_new_config), TrustedKey(signer.public_key)
        )


def test_another_key_is_rejected(model: Path, signer: KeySigner) -> None:
    other = TrustedKey(generate_private_key("ecdsa-p256").public_key())
    with pytest.raises(KeyMismatch, match="not by the trusted key"):
        verify_model(model, _sign(model, signer), other)


def test_public_key_of_the_wrong_curve(model: Path) -> None:
    p384 = KeySigner(generate_private_key("ecdsa-p384"))
    p256 = TrustedKey(generate_private_key("ecdsa-p256").public_key())
    bundle = _sign(model, p384)
    with pytest.raises(KeyMismatch):
        verify_model(model, bundle, p256)
    # Old bundles carry rawBytes and no hint: the signature check itself must fail.
    document = json.loads(bundle)
    document["verificationMaterial"]["publicKey"] = {
        "rawBytes": base64.b64encode(public_key_pem(p384.public_key)).decode()
    }
    with pytest.raises(SignatureInvalid):
        verify_model(model, json.dumps(document).encode(), p256)
    verify_model(model, json.dumps(document).encode(), TrustedKey(p384.public_key))


def test_signature_for_other_content(model: Path, tmp_path: Path, signer: KeySigner) -> None:
    other = make_model(tmp_path / "other", {"a.bin": b"another model"})
    with pytest.raises(IntegrityError):
        verify_model(model, _sign(other, signer), TrustedKey(signer.public_key))


def test_payload_type_other_than_in_toto(model: Path, signer: KeySigner) -> None:
    document = json.loads(_sign(model, signer))
    document["dsseEnvelope"]["payloadType"] = "application/json"
    with pytest.raises(BundleInvalid, match="not in-toto"):
        verify_model(model, json.dumps(document).encode(), TrustedKey(signer.public_key))


@pytest.mark.parametrize("data", [b"", b"{", b"not json at all", b"\x00\x01"])
def test_truncated_or_non_json_bundles(model: Path, signer: KeySigner, data: bytes) -> None:
    with pytest.raises(BundleInvalid):
        verify_model(model, data, TrustedKey(signer.public_key))
    full = _sign(model, signer)
    with pytest.raises(BundleInvalid):
        verify_model(model, full[: len(full) // 2], TrustedKey(signer.public_key))


def test_unreadable_signature_file(model: Path, signer: KeySigner, tmp_path: Path) -> None:
    with pytest.raises(MaterialUnreadable):
        verify_model(model, tmp_path / "absent.sig", TrustedKey(signer.public_key))


# --- names that escape ---------------------------------------------------------------------


def _malicious(name: str, digest: bytes) -> Manifest:
    return Manifest("model", Serialization(), (Resource(name, "sha256", digest),))


@pytest.mark.parametrize("ignore_unsigned", [False, True])
@pytest.mark.parametrize("name", ["../secret.txt", "/etc/hostname", "a/../../secret.txt"])
def test_escaping_names_are_rejected_even_ignoring_unsigned_files(
    tmp_path: Path, signer: KeySigner, name: str, ignore_unsigned: bool
) -> None:
    import hashlib

    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    model = make_model(tmp_path / "model", {"a/x": b"x"})
    bundle = sign_manifest(_malicious(name, hashlib.sha256(b"top secret").digest()), signer)
    with pytest.raises(UnsafeModelPath, match="unsafe"):
        verify_model(
            model,
            bundle.to_bytes(),
            TrustedKey(signer.public_key),
            ignore_unsigned_files=ignore_unsigned,
        )


def test_symlink_out_of_the_tree_at_verification(tmp_path: Path, signer: KeySigner) -> None:
    model = make_model(tmp_path / "model", {"a.bin": b"payload", "b.bin": b"b"})
    (tmp_path / "outside.bin").write_bytes(b"payload")
    for serialization in (Serialization.files(), Serialization.files(allow_symlinks=True)):
        (model / "a.bin").unlink(missing_ok=True)
        (model / "a.bin").write_bytes(b"payload")
        bundle = _sign(model, signer, serialization=serialization)
        (model / "a.bin").unlink()
        (model / "a.bin").symlink_to(tmp_path / "outside.bin")
        for ignore_unsigned in (False, True):
            with pytest.raises(UnsafeModelPath):
                verify_model(
                    model,
                    bundle,
                    TrustedKey(signer.public_key),
                    ignore_unsigned_files=ignore_unsigned,
                )


def test_ignore_unsigned_files(model: Path, signer: KeySigner) -> None:
    bundle = _sign(model, signer)
    (model / "README.md").write_text("added later")
    with pytest.raises(IntegrityError, match=r"extra: README\.md"):
        verify_model(model, bundle, TrustedKey(signer.public_key))
    verify_model(model, bundle, TrustedKey(signer.public_key), ignore_unsigned_files=True)
    verify_model(model, bundle, TrustedKey(signer.public_key), ignore=["README.md"])
    (model / "config.json").unlink()
    with pytest.raises(IntegrityError, match=r"missing: config\.json"):
        verify_model(model, bundle, TrustedKey(signer.public_key), ignore_unsigned_files=True)


def test_verifier_cannot_ignore_a_signed_file(model: Path, signer: KeySigner) -> None:
    bundle = _sign(model, signer)
    with pytest.raises(IntegrityError, match=r"missing: config\.json"):
        verify_model(model, bundle, TrustedKey(signer.public_key), ignore=["config.json"])
    with pytest.raises(UnsafeModelPath):
        verify_model(model, bundle, TrustedKey(signer.public_key), ignore=["../elsewhere"])


def test_signature_inside_the_model_is_left_out(model: Path, signer: KeySigner) -> None:
    sign_model(model, signer, output=model / "model.sig")
    # model_signing's layout: the bundle next to the files, no ignore given when verifying.
    verify_model(model, model / "model.sig", TrustedKey(signer.public_key))


def test_empty_manifest_is_rejected(model: Path, signer: KeySigner) -> None:
    bundle = sign_manifest(Manifest("model", Serialization()), signer)
    with pytest.raises(IntegrityError, match="covers no files"):
        verify_model(model, bundle.to_bytes(), TrustedKey(signer.public_key))


# --- certificates --------------------------------------------------------------------------


def _cert_bundle(model: Path, **pki_options: Any) -> tuple[bytes, Any]:
    pki = make_pki(**pki_options)
    signer = CertificateSigner(KeySigner(pki.leaf_key), [pki.leaf, *pki.intermediates])
    return _sign(model, signer), pki


def test_certificate_chain_round_trip(model: Path) -> None:
    bundle, pki = _cert_bundle(model)
    result = verify_model(model, bundle, TrustedCertificateAuthority([pki.root]))
    signer = result.signers[0]
    assert signer.kind == "certificate"
    assert signer.subject == "CN=release-engineer,O=Custody Tests"
    constrained = TrustedCertificateAuthority(
        [pki.root],
        constraint=SubjectConstraint(common_name="release-engineer", san="release@acme.example"),
    )
    verify_model(model, bundle, constrained)


def test_certificate_from_another_root(model: Path) -> None:
    bundle, _ = _cert_bundle(model)
    with pytest.raises(CertificateChainInvalid):
        verify_model(model, bundle, TrustedCertificateAuthority([make_pki().root]))


def test_expired_certificate(model: Path) -> None:
    bundle, pki = _cert_bundle(model, leaf_days=(-60, -1))
    with pytest.raises(CertificateChainInvalid, match=r"expired|not valid|validity"):
        verify_model(model, bundle, TrustedCertificateAuthority([pki.root]))
    # Verifying as of a moment inside the validity window succeeds.
    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    verify_model(model, bundle, TrustedCertificateAuthority([pki.root], at_time=then))


@pytest.mark.parametrize(
    "options",
    [{"intermediate_is_ca": False}, {"extra_intermediate": True}],
    ids=["intermediate-not-a-ca", "path-length-exceeded"],
)
def test_wrongly_constrained_chains(model: Path, options: dict[str, Any]) -> None:
    bundle, pki = _cert_bundle(model, **options)
    with pytest.raises(CertificateChainInvalid):
        verify_model(model, bundle, TrustedCertificateAuthority([pki.root]))


def test_leaf_not_allowed_to_sign(model: Path) -> None:
    bundle, pki = _cert_bundle(model, leaf_usage=False)
    with pytest.raises(CertificateChainInvalid, match="not allowed to sign"):
        verify_model(model, bundle, TrustedCertificateAuthority([pki.root]))


@pytest.mark.parametrize(
    "constraint",
    [
        SubjectConstraint(common_name="someone-else"),
        SubjectConstraint(subject="CN=release-engineer,O=Evil"),
        SubjectConstraint(san="mallory@acme.example"),
        SubjectConstraint(san_pattern="release@acme"),  # anchored: a prefix is not a match
    ],
)
def test_subject_constraints(model: Path, constraint: SubjectConstraint) -> None:
    bundle, pki = _cert_bundle(model)
    with pytest.raises(IdentityMismatch):
        verify_model(model, bundle, TrustedCertificateAuthority([pki.root], constraint=constraint))
    explicit = SubjectConstraint(san_pattern=r"[a-z]+@acme\.example")
    verify_model(model, bundle, TrustedCertificateAuthority([pki.root], constraint=explicit))


def test_key_bundle_is_not_a_certificate_bundle(model: Path, signer: KeySigner) -> None:
    with pytest.raises(UntrustedSigner):
        verify_model(model, _sign(model, signer), TrustedCertificateAuthority([make_pki().root]))
    bundle, pki = _cert_bundle(model)
    with pytest.raises(KeyMismatch):
        verify_model(model, bundle, TrustedKey(pki.leaf_key.public_key()))


def test_p384_certificate_key(model: Path) -> None:
    bundle, pki = _cert_bundle(model, leaf_curve=ec.SECP384R1())
    verify_model(model, bundle, TrustedCertificateAuthority([pki.root]))
