"""DSSE envelopes (Dead Simple Signing Envelope v1) and their pre-authentication encoding.

A signature in DSSE is never over the payload alone but over
``PAE(payloadType, payload)``, which binds the type so a payload cannot be
re-interpreted as another kind of document.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from signing.errors import BundleFormatError
from signing.media_types import IN_TOTO_JSON

__all__ = ["IN_TOTO_PAYLOAD_TYPE", "Envelope", "EnvelopeSignature", "pae"]

IN_TOTO_PAYLOAD_TYPE = IN_TOTO_JSON
_URLSAFE = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def b64decode_strict(value: object, what: str) -> bytes:
    """Standard base64 (padding required, no stray characters); raises BundleFormatError."""
    if not isinstance(value, str) or not value:
        raise BundleFormatError(f"{what} is missing or not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        pass
    # Protobuf JSON also allows the URL-safe alphabet; accept it, nothing looser.
    if _URLSAFE.fullmatch(value):
        try:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            pass
    raise BundleFormatError(f"{what} is not valid base64")


@dataclass(frozen=True, slots=True)
class EnvelopeSignature:
    """One signature of an envelope."""

    sig: bytes
    keyid: str = ""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A DSSE envelope: the payload bytes, their type, and one or more signatures."""

    payload: bytes
    payload_type: str
    signatures: tuple[EnvelopeSignature, ...]

    def pae(self) -> bytes:
        """The bytes every signature of this envelope covers."""
        return pae(self.payload_type, self.payload)

    def to_json(self) -> dict[str, Any]:
        """The JSON object (base64 fields), as Sigstore bundles embed it."""
        return {
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "payloadType": self.payload_type,
            "signatures": [
                {"sig": base64.b64encode(s.sig).decode("ascii"), "keyid": s.keyid}
                for s in self.signatures
            ],
        }

    @classmethod
    def from_json(cls, data: object) -> Envelope:
        """Parse the JSON object; raises :class:`~signing.errors.BundleFormatError`."""
        if not isinstance(data, Mapping):
            raise BundleFormatError("dsseEnvelope is not an object")
        payload_type = data.get("payloadType")
        if not isinstance(payload_type, str) or not payload_type:
            raise BundleFormatError("dsseEnvelope.payloadType is missing")
        payload = b64decode_strict(data.get("payload"), "dsseEnvelope.payload")
        raw_signatures = data.get("signatures")
        if not isinstance(raw_signatures, list) or not raw_signatures:
            raise BundleFormatError("dsseEnvelope.signatures is missing or empty")
        signatures = []
        for index, item in enumerate(raw_signatures):
            if not isinstance(item, Mapping):
                raise BundleFormatError(f"dsseEnvelope.signatures[{index}] is not an object")
            keyid = item.get("keyid") or ""
            if not isinstance(keyid, str):
                raise BundleFormatError(f"dsseEnvelope.signatures[{index}].keyid is not a string")
            sig = b64decode_strict(item.get("sig"), f"dsseEnvelope.signatures[{index}].sig")
            signatures.append(EnvelopeSignature(sig, keyid))
        return cls(payload, payload_type, tuple(signatures))
