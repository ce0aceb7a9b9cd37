"""Signers chosen by key reference, certificate signers, and sign_model's bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signing.errors import (
    CertificateMismatch,
    KeyLoadError,
    UnsafePathError,
    UnsupportedKeyReference,
)
from signing.keys import key_id
from signing.manifest import Serialization
from signing.oms import MaterialKind
from signing.sign import sign_model
from signing.signers import CertificateSigner, KeySigner, Signer, load_signer, register_scheme
from tests.support.signing_factories import make_model, make_pki, new_key, write_private_key


def test_plain_path_and_file_scheme(tmp_path: Path) -> None:
    key = new_key()
    path = write_private_key(tmp_path / "k:1.pem", key)
    for reference in (str(path), f"file:{path}"):
        assert key_id(load_signer(reference).public_key) == key_id(key.public_key())


def test_encrypted_key_asks_the_secrets_callback(tmp_path: Path) -> None:
    path = write_private_key(tmp_path / "k.pem", new_key("ed25519"), b"pin")
    asked: list[str] = []

    def secrets(what: str) -> str:
        asked.append(what)
        return "pin"

    load_signer(str(path), secrets=secrets)
    assert asked == ["passphrase"]
    with pytest.raises(KeyLoadError, match="passphrase"):
        load_signer(str(path))


@pytest.mark.parametrize("reference", ["pkcs11:token=hsm;object=release", "awskms:///alias/x"])
def test_backends_without_an_implementation_say_so(reference: str) -> None:
    with pytest.raises(UnsupportedKeyReference, match="register_scheme"):
        load_signer(reference)


def test_a_registered_scheme_is_used(tmp_path: Path) -> None:
    key = new_key()

    def factory(reference: str, secrets: object) -> Signer:
        assert reference == "testkms://release"
        return KeySigner(key)

    register_scheme("testkms", factory)
    assert key_id(load_signer("testkms://release").public_key) == key_id(key.public_key())


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError, match="cannot read key"):
        load_signer(str(tmp_path / "nope.pem"))


def test_certificate_signer_puts_the_leaf_first(tmp_path: Path) -> None:
    pki = make_pki()
    files = pki.write(tmp_path / "pki")
    # Intermediate listed before the leaf: the leaf is found by its key.
    signer = load_signer(
        str(files["key"]), certificate_chain=[files["intermediate"], files["leaf"]]
    )
    assert isinstance(signer, CertificateSigner)
    assert signer.chain[0] == pki.leaf
    material = signer.verification_material()
    assert material.kind == MaterialKind.CERTIFICATE_CHAIN
    assert len(material.certificates) == 2


def test_certificate_chain_for_another_key_is_refused(tmp_path: Path) -> None:
    files = make_pki().write(tmp_path / "pki")
    other = write_private_key(tmp_path / "other.pem", new_key())
    with pytest.raises(CertificateMismatch, match="signing key"):
        load_signer(str(other), certificate_chain=[files["chain"]])
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(CertificateMismatch, match="no PEM certificate"):
        load_signer(str(other), certificate_chain=[tmp_path / "junk.pem"])


def test_sign_model_records_ignores_and_leaves_out_its_own_output(tmp_path: Path) -> None:
    model = make_model(tmp_path / "m")
    output = model / "model.sig"
    output.write_text("stale")
    signed = sign_model(
        model,
        KeySigner(new_key()),
        ignore=["tokenizer"],
        output=output,
        serialization=Serialization.files("blake3"),
    )
    recorded = signed.manifest.serialization.ignore_paths
    assert {"model.sig", "tokenizer", ".git"} <= set(recorded)
    assert "model.sig" not in signed.manifest.file_names()
    assert json.loads(output.read_bytes())["mediaType"].startswith("application/vnd.dev.sigstore")
    with pytest.raises(UnsafePathError, match="not inside the model"):
        sign_model(model, KeySigner(new_key()), ignore=[tmp_path / "elsewhere"])


def test_a_signer_whose_signature_does_not_verify_is_caught(tmp_path: Path) -> None:
    model = make_model(tmp_path / "m", {"a": b"a"})

    class Broken(KeySigner):
        def sign(self, data: bytes) -> bytes:
            return super().sign(data + b"!")

    from signing.errors import SigningError

    with pytest.raises(SigningError, match="rejects"):
        sign_model(model, Broken(new_key()))
