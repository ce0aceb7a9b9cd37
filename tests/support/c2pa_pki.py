"""A local C2PA test PKI (root CA + leaf), ES256 or Ed25519, and PNG/JPEG helpers."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from signing.keys import PrivateKey
from signing.signers import CertificateSigner, KeySigner

_PEM = serialization.Encoding.PEM


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Custody Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class C2paPki:
    """A root CA and a C2PA signing leaf (emailProtection EKU, digitalSignature)."""

    root: x509.Certificate
    leaf: x509.Certificate
    leaf_key: PrivateKey

    @property
    def anchors_pem(self) -> bytes:
        return self.root.public_bytes(_PEM)

    def signer(self) -> CertificateSigner:
        return CertificateSigner(KeySigner(self.leaf_key), [self.leaf, self.root])


def make_c2pa_pki(leaf_type: str = "es256", name: str = "Custody C2PA Signer") -> C2paPki:
    # c2pa-rs checks validity against the real clock (freezegun cannot reach it),
    # so the certificates are valid around the actual now.
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key: PrivateKey = (
        ed25519.Ed25519PrivateKey.generate()
        if leaf_type == "ed25519"
        else ec.generate_private_key(ec.SECP256R1())
    )
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("Custody C2PA Test Root"))
        .issuer_name(_name("Custody C2PA Test Root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    return C2paPki(root, leaf, leaf_key)


def image(color: tuple[int, int, int], fmt: str = "PNG", size: int = 64) -> bytes:
    """A small solid image with one odd pixel."""
    picture = Image.new("RGB", (size, size), color)
    picture.putpixel((1, 1), (1, 2, 3))
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    return buffer.getvalue()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, whole chunk bytes) of a PNG, in order."""
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((data[pos + 4 : pos + 8], data[pos : pos + 12 + length]))
        pos += 12 + length
    return chunks


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """A PNG chunk with a correct CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_from(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(c for _, c in chunks)


def with_fixed_crcs(data: bytes) -> bytes:
    """Recompute every chunk CRC (after an in-place edit), so only C2PA sees the change."""
    fixed = []
    for kind, chunk in png_chunks(data):
        fixed.append((kind, png_chunk(kind, chunk[8:-4])))
    return png_from(fixed)


def raw_signature(signature: bytes, key: PrivateKey) -> bytes:
    """The COSE form of a signature the signer returned (ECDSA DER -> r||s)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        r, s = decode_dss_signature(signature)
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return signature
