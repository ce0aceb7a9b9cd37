"""Small builders shared by the signing, verifier and interop tests: models, keys, a test PKI."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from signing.keys import PrivateKey, generate_private_key, private_key_pem, public_key_pem


def _find_vectors() -> Path:
    """Third-party vectors: $CUSTODY_VECTORS, the checkout's ../shared/vectors, or this
    machine's /work/shared/vectors (CI clones the project somewhere else)."""
    candidates = [
        os.environ.get("CUSTODY_VECTORS", ""),
        str(Path(__file__).resolve().parents[2] / ".." / "shared" / "vectors"),
        "/work/shared/vectors",
    ]
    for candidate in filter(None, candidates):
        if (Path(candidate) / "MANIFEST.json").is_file():
            return Path(candidate).resolve()
    return Path(candidates[1]).resolve()


VECTORS = _find_vectors()

NESTED_MODEL: Mapping[str, bytes] = {
    "config.json": b'{"layers": 2}\n',
    "weights/part-0.safetensors": os.urandom(70_000),
    "weights/part-1.safetensors": os.urandom(33_333),
    "weights/deep/er/scale.bin": b"\x00" * 17,
    "tokenizer/vocab.txt": b"a\nb\nc\n",
    "empty.txt": b"",
}


def make_model(root: Path, files: Mapping[str, bytes] = NESTED_MODEL) -> Path:
    """Write ``files`` (model-relative name -> bytes) under ``root``; return ``root``."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_private_key(path: Path, key: PrivateKey, passphrase: bytes | None = None) -> Path:
    path.write_bytes(private_key_pem(key, passphrase))
    return path


def write_public_key(path: Path, key: PrivateKey) -> Path:
    path.write_bytes(public_key_pem(key.public_key()))
    return path


def new_key(kind: str = "ecdsa-p256") -> PrivateKey:
    return generate_private_key(kind)


@dataclass
class Pki:
    """A root CA, an intermediate CA and a code-signing leaf, with their keys."""

    root: x509.Certificate
    intermediates: list[x509.Certificate]  # the leaf's issuer first
    leaf: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    leaf_key: ec.EllipticCurvePrivateKey

    def write(self, directory: Path) -> dict[str, Path]:
        """PEM files: root.pem, intermediate.pem, leaf.pem, chain.pem (leaf+int), leaf.key."""
        directory.mkdir(parents=True, exist_ok=True)
        pem = serialization.Encoding.PEM
        files = {
            "root": directory / "root.pem",
            "intermediate": directory / "intermediate.pem",
            "leaf": directory / "leaf.pem",
            "chain": directory / "chain.pem",
            "key": directory / "leaf.key",
        }
        files["root"].write_bytes(self.root.public_bytes(pem))
        intermediates = b"".join(c.public_bytes(pem) for c in self.intermediates)
        files["intermediate"].write_bytes(intermediates)
        files["leaf"].write_bytes(self.leaf.public_bytes(pem))
        files["chain"].write_bytes(self.leaf.public_bytes(pem) + intermediates)
        write_private_key(files["key"], self.leaf_key)
        return files


def _name(common_name: str, organization: str = "Custody Tests") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    path_length: int | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    issuer_key: ec.EllipticCurvePublicKey,
    leaf_usage: bool = True,
    san: str | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=leaf_usage,
                content_commitment=False,
                key_encipherment=not leaf_usage,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        if leaf_usage:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(san)]), critical=False
            )
    return builder.sign(signing_key, hashes.SHA256())


def make_pki(
    *,
    leaf_name: str = "release-engineer",
    leaf_days: tuple[int, int] = (-1, 365),
    intermediate_is_ca: bool = True,
    intermediate_path_length: int | None = 0,
    extra_intermediate: bool = False,
    leaf_usage: bool = True,
    leaf_curve: ec.EllipticCurve | None = None,
    san: str | None = "release@acme.example",
) -> Pki:
    """A three-level PKI. Knobs build the wrongly-constrained variants the tests need."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    int_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(leaf_curve or ec.SECP256R1())
    long_ago, far = now - dt.timedelta(days=30), now + dt.timedelta(days=3650)
    root = _certificate(
        _name("Custody Test Root"),
        _name("Custody Test Root"),
        root_key.public_key(),
        root_key,
        ca=True,
        path_length=None,
        not_before=long_ago,
        not_after=far,
        issuer_key=root_key.public_key(),
    )
    intermediate = _certificate(
        _name("Custody Test Intermediate"),
        root.subject,
        int_key.public_key(),
        root_key,
        ca=intermediate_is_ca,
        path_length=intermediate_path_length if intermediate_is_ca else None,
        not_before=long_ago,
        not_after=far,
        issuer_key=root_key.public_key(),
    )
    issuer_cert, issuer_key = intermediate, int_key
    intermediates = [intermediate]
    if extra_intermediate:
        extra_key = ec.generate_private_key(ec.SECP256R1())
        extra = _certificate(
            _name("Custody Test Sub-Intermediate"),
            intermediate.subject,
            extra_key.public_key(),
            int_key,
            ca=True,
            path_length=None,
            not_before=long_ago,
            not_after=far,
            issuer_key=int_key.public_key(),
        )
        # The chain root -> intermediate(pathlen 0) -> extra -> leaf breaks the path length.
        issuer_cert, issuer_key = extra, extra_key
        intermediates = [extra, intermediate]
    leaf = _certificate(
        _name(leaf_name),
        issuer_cert.subject,
        leaf_key.public_key(),
        issuer_key,
        ca=False,
        path_length=None,
        not_before=now + dt.timedelta(days=leaf_days[0]),
        not_after=now + dt.timedelta(days=leaf_days[1]),
        issuer_key=issuer_key.public_key(),
        leaf_usage=leaf_usage,
        san=san,
    )
    return Pki(root, intermediates, leaf, root_key, leaf_key)
