"""C2SP signed notes: verifier keys and Ed25519 signature verification.

A signed note is UTF-8 text ending in a newline, a blank line, then one line per
signature: ``— <key name> <base64(4-byte key ID || signature)>``. The key ID is
the first four bytes of ``SHA-256(name || 0x0A || 0x01 || public key)`` for an
Ed25519 key, and a verifier key is shared as ``<name>+<hex key ID>+<base64(0x01
|| public key)>``. Signatures by unknown keys are ignored (witnesses may
cosign); a signature by the trusted key that fails rejects the whole note.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from verifier.transparency.errors import (
    CheckpointInvalid,
    CheckpointSignatureInvalid,
    VerifierKeyInvalid,
)

__all__ = ["ED25519", "MAX_NOTE_BYTES", "SignedNote", "VerifierKey", "key_id", "open_note"]

#: Signature type byte of Ed25519 in the signed-note spec.
ED25519 = 0x01
#: Larger notes are refused before parsing (a checkpoint is a few hundred bytes).
MAX_NOTE_BYTES = 1024 * 1024
_MAX_SIGNATURES = 100
_DASH = "\u2014 "


def key_id(name: str, public_key: bytes) -> int:
    """The 32-bit key ID of an Ed25519 key named ``name``."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def valid_key_name(name: str) -> bool:
    """A key name is non-empty and holds neither white space nor ``+``."""
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A log's public key as the signed-note ecosystem writes it."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse ``<name>+<hex key ID>+<base64(0x01 || key)>``; the key ID is recomputed."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise VerifierKeyInvalid("a verifier key is <name>+<hex key ID>+<base64 key>")
        name, hex_id, encoded = parts
        if not valid_key_name(name):
            raise VerifierKeyInvalid(f"invalid key name {name!r}")
        if len(hex_id) != 8 or hex_id.lower() != hex_id:
            raise VerifierKeyInvalid("the key ID must be 8 lower-case hex digits")
        try:
            claimed = int(hex_id, 16)
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise VerifierKeyInvalid(
                "the verifier key's ID or key is not valid hex/base64"
            ) from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise VerifierKeyInvalid(
                "only Ed25519 verifier keys (type 0x01, 32 bytes) are supported"
            )
        if key_id(name, raw[1:]) != claimed:
            raise VerifierKeyInvalid("the key ID does not match the key name and public key")
        return cls(name=name, key_id=claimed, public_key=raw[1:])

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"


@dataclass(frozen=True, slots=True)
class SignedNote:
    """A note whose signature by ``verified_by`` has been checked."""

    text: str
    verified_by: VerifierKey


def _split(note: str) -> tuple[str, list[str]]:
    cut = note.rfind("\n\n")
    if cut < 0:
        raise CheckpointInvalid("a signed note needs a blank line before its signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    if not block.endswith("\n"):
        raise CheckpointInvalid("a signed note must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise CheckpointInvalid(f"more than {_MAX_SIGNATURES} signatures on one note")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise CheckpointInvalid("note text holds control characters")
    return text, lines


def _parse_signature(line: str) -> tuple[str, int, bytes]:
    if not line.startswith(_DASH):
        raise CheckpointInvalid("a signature line must start with an em dash and a space")
    name, sep, encoded = line[len(_DASH) :].partition(" ")
    if not sep or not valid_key_name(name):
        raise CheckpointInvalid(f"malformed signature line {line[:80]!r}")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise CheckpointInvalid(f"signature of {name!r} is not base64") from None
    if len(raw) < 5:
        raise CheckpointInvalid(f"signature of {name!r} is too short")
    return name, int.from_bytes(raw[:4], "big"), raw[4:]


def open_note(data: bytes | str, key: VerifierKey) -> SignedNote:
    """Verify ``data`` as a note signed by ``key``; return its text. Fails closed."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise CheckpointInvalid(f"note exceeds {MAX_NOTE_BYTES} bytes")
        try:
            note = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointInvalid("a signed note must be UTF-8") from None
    else:
        note = data
        if len(note.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
            raise CheckpointInvalid(f"note exceeds {MAX_NOTE_BYTES} bytes")
    text, lines = _split(note)
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    for line in lines:
        name, claimed_id, signature = _parse_signature(line)
        if name != key.name or claimed_id != key.key_id:
            continue  # someone else's signature (a witness): not ours to judge
        try:
            public.verify(signature, text.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointSignatureInvalid(
                f"the signature by {key.name} does not verify over the note"
            ) from None
        return SignedNote(text=text, verified_by=key)
    raise CheckpointSignatureInvalid(f"the note carries no signature by {key.name}")
