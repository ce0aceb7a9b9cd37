"""Keys: generation, passphrases, identifiers, the curve-to-hash rule."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signing.errors import KeyLoadError
from signing.keys import (
    KeyType,
    generate_private_key,
    key_id,
    key_type_of,
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_pem,
    sign_bytes,
    verify_bytes,
    write_key_pair,
)


@pytest.mark.parametrize("kind", list(KeyType))
def test_write_key_pair_round_trips_with_a_passphrase(tmp_path: Path, kind: KeyType) -> None:
    paths = write_key_pair(tmp_path / "k", kind, b"correct horse")
    assert stat.S_IMODE(paths.private.stat().st_mode) == 0o600
    assert b"ENCRYPTED" in paths.private.read_bytes()
    key = load_private_key(paths.private.read_bytes(), b"correct horse")
    public = load_public_key(paths.public.read_bytes())
    assert key_id(key.public_key()) == key_id(public)
    assert key_type_of(public) == kind
    assert verify_bytes(public, sign_bytes(key, b"data"), b"data")
    assert not verify_bytes(public, sign_bytes(key, b"data"), b"other")


def test_passphrase_errors_are_clear(tmp_path: Path) -> None:
    paths = write_key_pair(tmp_path / "k", "ecdsa-p256", b"pw")
    with pytest.raises(KeyLoadError, match="passphrase is needed"):
        load_private_key(paths.private.read_bytes())
    with pytest.raises(KeyLoadError, match="wrong passphrase"):
        load_private_key(paths.private.read_bytes(), b"nope")
    plain = write_key_pair(tmp_path / "p", "ed25519", None)
    with pytest.raises(KeyLoadError, match="not encrypted"):
        load_private_key(plain.private.read_bytes(), b"pw")


def test_key_files_are_not_overwritten(tmp_path: Path) -> None:
    write_key_pair(tmp_path / "k", "ed25519", None)
    with pytest.raises(KeyLoadError, match="already exists"):
        write_key_pair(tmp_path / "k", "ed25519", None)
    write_key_pair(tmp_path / "k", "ed25519", None, overwrite=True)


@pytest.mark.parametrize("kind", ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "ed25519"])
def test_the_key_id_is_the_oms_hint_sha256_of_the_pem_text(kind: str) -> None:
    public = generate_private_key(kind).public_key()
    assert key_id(public) == hashlib.sha256(public_key_pem(public)).hexdigest()


@pytest.mark.parametrize(
    ("kind", "digest"),
    [
        ("ecdsa-p256", hashes.SHA256()),
        ("ecdsa-p384", hashes.SHA384()),
        ("ecdsa-p521", hashes.SHA512()),
    ],
)
def test_ecdsa_hash_follows_the_curve(kind: str, digest: hashes.HashAlgorithm) -> None:
    key = generate_private_key(kind)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signature = sign_bytes(key, b"payload")
    key.public_key().verify(signature, b"payload", ec.ECDSA(digest))
    other = hashes.SHA256() if not isinstance(digest, hashes.SHA256) else hashes.SHA384()
    assert not verify_bytes(key.public_key(), signature, b"payload", ecdsa_hash_override=other)


def test_public_key_text_before_the_pem_block_is_skipped() -> None:
    public = generate_private_key("ecdsa-p256").public_key()
    dumped = b"Public Key Information:\n\tAlgorithm: EC\n" + public_key_pem(public)
    assert key_id(load_public_key(dumped)) == key_id(public)


def test_unsupported_keys_are_refused() -> None:
    k1 = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(KeyLoadError, match="not supported"):
        load_public_key(public_key_pem(k1.public_key()))  # type: ignore[arg-type]
    with pytest.raises(KeyLoadError, match="cannot sign"):
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        load_private_key(private_key_pem(rsa_key, None))  # type: ignore[arg-type]
    with pytest.raises(KeyLoadError):
        load_public_key(b"not a key")
    with pytest.raises(KeyLoadError, match="not a PEM"):
        load_private_key(b"garbage")
