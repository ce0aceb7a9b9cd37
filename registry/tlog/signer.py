"""The log's own Ed25519 key: its file, and C2SP signed checkpoints made with it.

The key lives in a file of its own (never the TUF, namespace or token keys), in
the private-key text form of the signed-note ecosystem:
``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>``. It is created on
first start with mode 0600 and published as the verifier key
``<name>+<hex key ID>+<base64(0x01 || public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.tlog.errors import LogKeyInvalid

ED25519 = 0x01
_PREFIX = "PRIVATE+KEY+"


def _key_id(name: str, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


class LogSigner:
    """Signs checkpoints as the log named ``name``."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _valid_name(name):
            raise LogKeyInvalid(f"log name {name!r} must be non-empty, without spaces or '+'")
        self.name = name
        self._private = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = _key_id(name, self.public_key)

    @property
    def verifier_key(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def sign_note(self, text: str) -> str:
        """``text`` (newline-terminated) followed by a blank line and our signature line."""
        if not text.endswith("\n") or "\n\n" in text:
            raise ValueError("note text must end with one newline and hold no blank line")
        signature = self._private.sign(text.encode())
        blob = base64.b64encode(self.key_id.to_bytes(4, "big") + signature).decode()
        return f"{text}\n\u2014 {self.name} {blob}\n"

    def checkpoint(self, tree_size: int, root_hash: bytes) -> str:
        """A signed C2SP checkpoint for the tree of ``tree_size`` with ``root_hash``."""
        root = base64.b64encode(root_hash).decode()
        return self.sign_note(f"{self.name}\n{tree_size}\n{root}\n")

    def private_text(self) -> str:
        seed = self._private.private_bytes_raw()
        encoded = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"{_PREFIX}{self.name}+{self.key_id:08x}+{encoded}\n"

    @classmethod
    def from_text(cls, text: str) -> LogSigner:
        if not text.startswith(_PREFIX):
            raise LogKeyInvalid("the log key file does not start with PRIVATE+KEY+")
        parts = text.strip()[len(_PREFIX) :].split("+", 2)
        if len(parts) != 3:
            raise LogKeyInvalid("the log key is PRIVATE+KEY+<name>+<key ID>+<base64 seed>")
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
            claimed = int(hex_id, 16)
        except (binascii.Error, ValueError):
            raise LogKeyInvalid("the log key's ID or seed is not valid hex/base64") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise LogKeyInvalid("the log key must be an Ed25519 seed (type 0x01, 32 bytes)")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key_id != claimed:
            raise LogKeyInvalid("the log key's ID does not match its name and key")
        return signer


def load_or_create_signer(path: Path, name: str | None) -> LogSigner:
    """Load the log key from ``path``, creating it (as ``name``) if it does not exist.

    Creation is atomic and exclusive: the key is written to a private temporary
    file and hard-linked into place, so replicas starting together agree on one key.
    A configured ``name`` that differs from the key's is refused: a log's name
    never changes under its verifiers.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = LogSigner(name or "custody.localhost/log", Ed25519PrivateKey.generate())
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(fresh.private_text())
                handle.flush()
                os.fsync(handle.fileno())
            # If another process won the race, its key is the one everybody uses.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise LogKeyInvalid(f"cannot read the log key {str(path)!r}: {exc}") from None
    signer = LogSigner.from_text(text)
    if name is not None and name != signer.name:
        raise LogKeyInvalid(
            f"the log key {str(path)!r} belongs to log {signer.name!r}, not {name!r}"
        )
    return signer
