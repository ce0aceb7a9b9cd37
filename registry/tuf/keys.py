"""The registry's TUF private keys: one PEM file per key, named by key id, mode 0600.

Keys are Ed25519 (what TUF implementations verify fastest and everyone supports).
A role is signed with every key of the role that the store holds; a role whose
threshold the store cannot meet is refused (:class:`SigningKeysMissing`), never
published under-signed. A key file that group or others can read is refused too.
Retired keys (after a rotation) are moved to ``retired/``, not deleted, so an
operator can still audit what signed old metadata.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner, Key, SSlibKey  # type: ignore[attr-defined]

from registry.tuf.errors import KeyFileInsecure, KeyInvalid, SigningKeysMissing

_PRIVATE_MODE = 0o600


class KeyStore:
    """Private keys under one directory (created 0700)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, keyid: str) -> Path:
        if not keyid.isalnum():  # key ids are hex digests; never a path
            raise KeyInvalid(f"key id {keyid!r} is not a hex digest")
        return self.directory / f"{keyid}.pem"

    def _prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory.chmod(0o700)

    def generate(self) -> SSlibKey:
        """A fresh Ed25519 key, stored; returns its public half."""
        signer = CryptoSigner(Ed25519PrivateKey.generate())
        self._write(signer)
        return signer.public_key

    def import_private_pem(self, pem: bytes, password: bytes | None = None) -> SSlibKey:
        """Store a private key given as PEM (PKCS#8); returns its public half."""
        try:
            private = load_pem_private_key(pem, password=password)
            signer = CryptoSigner(private)
        except (ValueError, TypeError) as exc:
            raise KeyInvalid(f"not a usable private key: {exc}") from None
        if not self.holds(signer.public_key.keyid):
            self._write(signer)
        return signer.public_key

    def _write(self, signer: CryptoSigner) -> None:
        self._prepare()
        path = self._path(signer.public_key.keyid)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(signer.private_bytes)
            handle.flush()
            os.fsync(handle.fileno())

    def holds(self, keyid: str) -> bool:
        return self._path(keyid).is_file()

    def signer(self, key: Key) -> CryptoSigner | None:
        """The signer for ``key`` if its private half is here, else ``None``."""
        path = self._path(key.keyid)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return None
        if stat.S_IMODE(mode) & 0o077:
            raise KeyFileInsecure(
                f"{path} is readable by group or others (mode {stat.S_IMODE(mode):o}); "
                "chmod 600 it: the registry refuses to sign with it"
            )
        try:
            private = load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, SSlibKey):
                raise KeyInvalid(f"key {key.keyid} is not a plain public key")
            return CryptoSigner(private, key)
        except (ValueError, TypeError) as exc:
            raise KeyInvalid(f"{path} does not hold the private key {key.keyid}: {exc}") from None

    def signers(self, role: str, keys: Iterable[Key], threshold: int) -> list[CryptoSigner]:
        """Every held signer of ``role``; :class:`SigningKeysMissing` below ``threshold``."""
        held = [s for s in (self.signer(k) for k in keys) if s is not None]
        if len(held) < threshold:
            raise SigningKeysMissing(
                f"role {role!r} needs {threshold} signature(s) but the key store "
                f"({self.directory}) holds {len(held)} of its private keys"
            )
        return held

    def retire(self, keyids: Iterable[str]) -> None:
        """Move private keys no role uses any more out of the signing directory."""
        retired = self.directory / "retired"
        for keyid in keyids:
            path = self._path(keyid)
            if path.is_file():
                retired.mkdir(exist_ok=True, mode=0o700)
                path.replace(retired / path.name)
