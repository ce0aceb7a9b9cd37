"""The key store: private files 0600 in a 0700 directory, refused when unsafe (no database)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
)

from registry.tuf.errors import KeyFileInsecure, KeyInvalid, SigningKeysMissing
from registry.tuf.keys import KeyStore


def test_generated_keys_are_private_and_sign(tmp_path: Path):
    store = KeyStore(tmp_path / "keys")
    key = store.generate()
    path = tmp_path / "keys" / f"{key.keyid}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    signer = store.signer(key)
    assert signer is not None
    key.verify_signature(signer.sign(b"payload"), b"payload")
    assert store.signer(KeyStore(tmp_path / "other").generate()) is None  # not held here


def test_threshold_and_retirement(tmp_path: Path):
    store = KeyStore(tmp_path)
    keys = [store.generate(), store.generate()]
    assert len(store.signers("acme", keys, 2)) == 2
    store.retire([keys[0].keyid])
    assert (tmp_path / "retired" / f"{keys[0].keyid}.pem").is_file()
    with pytest.raises(SigningKeysMissing, match="needs 2 signature"):
        store.signers("acme", keys, 2)


def test_unsafe_or_wrong_files_are_refused(tmp_path: Path):
    store = KeyStore(tmp_path)
    key = store.generate()
    path = tmp_path / f"{key.keyid}.pem"
    path.chmod(0o640)
    with pytest.raises(KeyFileInsecure, match="chmod 600"):
        store.signer(key)
    path.chmod(0o600)
    other = KeyStore(tmp_path / "x").generate()
    path.write_bytes((tmp_path / "x" / f"{other.keyid}.pem").read_bytes())  # someone else's key
    with pytest.raises(KeyInvalid, match="does not hold the private key"):
        store.signer(key)
    with pytest.raises(KeyInvalid, match="not a hex digest"):
        store.holds("../../etc/passwd")


def test_import_refuses_junk_and_encrypted_keys(tmp_path: Path):
    store = KeyStore(tmp_path)
    with pytest.raises(KeyInvalid, match="not a usable private key"):
        store.import_private_pem(b"-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n")
    encrypted = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"secret")
    )
    with pytest.raises(KeyInvalid, match="not a usable private key"):
        store.import_private_pem(encrypted)
