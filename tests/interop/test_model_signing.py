"""Interop with the ``model-signing`` package (1.1.1), both ways.

* ``model_signing`` signatures (key, certificate; files, shards, blake3 /
  blake2b) verify with Custody;
* Custody signatures verify with ``model_signing verify key`` /
  ``certificate`` (its command line, unmodified, in a subprocess) and with its
  Python API for the non-default serialisations its CLI cannot select;
* tampering is rejected by both tools;
* Custody bundles validate against the OMS specification's JSON schemas.

Known upstream limits, asserted here so a change is noticed: model_signing
1.1.1 accepts only ECDSA keys (not Ed25519), and cannot verify its own
blake2b or sharded bundles.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import model_signing
import pytest
from cryptography.exceptions import InvalidSignature

from signing.keys import generate_private_key, public_key_pem
from signing.manifest import Serialization
from signing.sign import sign_model
from signing.signers import CertificateSigner, KeySigner
from tests.support.signing_factories import VECTORS, make_model, make_pki, write_private_key
from verifier.errors import VerificationError
from verifier.model import verify_model
from verifier.trust import TrustedCertificateAuthority, TrustedKey

MODEL_SIGNING = str(Path(sys.executable).with_name("model_signing"))

LAYOUTS = {
    "single-file": {"model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + bytes(300)},
    "nested-dir": {
        "config.json": b"{}",
        "weights/a/b/part-0.bin": bytes(range(256)) * 40,
        "weights/a/part-1.bin": b"\x01" * 5000,
        "tokenizer/vocab.txt": b"a\nb\n",
        "notes/README.md": b"not shipped",
    },
}


def _model(tmp_path: Path, layout: str) -> Path:
    root = make_model(tmp_path / "model", LAYOUTS[layout])
    return root / "model.safetensors" if layout == "single-file" else root


def _ignore(layout: str, with_ignored: bool) -> list[str]:
    return ["notes"] if with_ignored and layout == "nested-dir" else []


@pytest.fixture(scope="module")
def ec_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, KeySigner]:
    directory = tmp_path_factory.mktemp("keys")
    key = generate_private_key("ecdsa-p384")
    private = write_private_key(directory / "key.pem", key)
    public = directory / "key.pub"
    public.write_bytes(public_key_pem(key.public_key()))
    return private, public, KeySigner(key)


def _ms_verify_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODEL_SIGNING, "verify", *map(str, args)], capture_output=True, text=True, check=False
    )


def _ms_sign_key(
    model: Path, signature: Path, private: Path, ignore: list[str], hashing: Any = None
) -> None:
    config = hashing or model_signing.hashing.Config()
    config.set_ignored_paths(paths=[model / p for p in ignore] + [signature], ignore_git_paths=True)
    model_signing.signing.Config().use_elliptic_key_signer(private_key=private).set_hashing_config(
        config
    ).sign(model, signature)


@pytest.mark.parametrize("with_ignored", [False, True], ids=["all-files", "ignored-paths"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_model_signing_key_signature_verifies_with_custody(
    tmp_path: Path, ec_key: tuple[Path, Path, KeySigner], layout: str, with_ignored: bool
) -> None:
    private, _, signer = ec_key
    model = _model(tmp_path, layout)
    signature = tmp_path / "model.sig"
    ignore = _ignore(layout, with_ignored)
    _ms_sign_key(model, signature, private, ignore)
    result = verify_model(model, signature, TrustedKey(signer.public_key))
    assert result.manifest is not None
    if layout == "nested-dir":
        assert ("notes/README.md" in result.manifest.file_names()) is not with_ignored


@pytest.mark.parametrize("with_ignored", [False, True], ids=["all-files", "ignored-paths"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_custody_key_signature_verifies_with_model_signing_cli(
    tmp_path: Path, ec_key: tuple[Path, Path, KeySigner], layout: str, with_ignored: bool
) -> None:
    _, public, signer = ec_key
    model = _model(tmp_path, layout)
    signature = tmp_path / "model.sig"
    sign_model(model, signer, ignore=_ignore(layout, with_ignored), output=signature)
    done = _ms_verify_cli("key", "--signature", signature, "--public_key", public, model)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verification succeeded" in done.stdout


@pytest.mark.parametrize("with_ignored", [False, True], ids=["all-files", "ignored-paths"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_certificate_signatures_both_ways(tmp_path: Path, layout: str, with_ignored: bool) -> None:
    pki = make_pki(san=None)
    files = pki.write(tmp_path / "pki")
    model = _model(tmp_path, layout)
    ignore = _ignore(layout, with_ignored)
    # model_signing signs, Custody verifies.
    theirs = tmp_path / "theirs.sig"
    model_signing.signing.Config().use_certificate_signer(
        private_key=files["key"],
        signing_certificate=files["leaf"],
        certificate_chain=[files["intermediate"]],
    ).set_hashing_config(
        model_signing.hashing.Config().set_ignored_paths(paths=[model / p for p in ignore])
    ).sign(model, theirs)
    result = verify_model(model, theirs, TrustedCertificateAuthority([pki.root]))
    assert result.signers[0].subject == "CN=release-engineer,O=Custody Tests"
    # Custody signs, model_signing verifies (its command line).
    ours = tmp_path / "ours.sig"
    signer = CertificateSigner(KeySigner(pki.leaf_key), [pki.leaf, *pki.intermediates])
    sign_model(model, signer, ignore=ignore, output=ours)
    done = _ms_verify_cli(
        "certificate", "--signature", ours, "--certificate_chain", files["root"], model
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x80
    path.write_bytes(bytes(data))


def _edit_payload(signature: Path) -> None:
    document = json.loads(signature.read_text())
    statement = json.loads(base64.b64decode(document["dsseEnvelope"]["payload"]))
    statement["predicate"]["resources"][0]["digest"] = "00" * 32
    digests = b"".join(bytes.fromhex(r["digest"]) for r in statement["predicate"]["resources"])
    import hashlib

    statement["subject"][0]["digest"]["sha256"] = hashlib.sha256(digests).hexdigest()
    document["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    signature.write_text(json.dumps(document))


TAMPERING: dict[str, Callable[[Path, Path], None]] = {
    "bit-flip": lambda model, sig: _flip(model / "weights/a/part-1.bin"),
    "extra-file": lambda model, sig: (model / "weights/extra.bin").write_bytes(b"x"),
    "missing-file": lambda model, sig: (model / "config.json").unlink(),
    "renamed-file": lambda model, sig: (model / "config.json").rename(model / "config2.json"),
    "edited-payload": lambda model, sig: _edit_payload(sig),
}


@pytest.mark.parametrize("producer", ["custody", "model_signing"])
@pytest.mark.parametrize("tamper", [*TAMPERING, "other-key"])
def test_tampering_is_rejected_by_both(
    tmp_path: Path, ec_key: tuple[Path, Path, KeySigner], producer: str, tamper: str
) -> None:
    private, public, signer = ec_key
    model = _model(tmp_path, "nested-dir")
    signature = tmp_path / "model.sig"
    if producer == "custody":
        sign_model(model, signer, output=signature)
    else:
        _ms_sign_key(model, signature, private, [])
    trusted_public = public
    trusted = TrustedKey(signer.public_key)
    if tamper == "other-key":
        other = generate_private_key("ecdsa-p384")
        trusted_public = tmp_path / "other.pub"
        trusted_public.write_bytes(public_key_pem(other.public_key()))
        trusted = TrustedKey(other.public_key())
    else:
        TAMPERING[tamper](model, signature)
    with pytest.raises(VerificationError):
        verify_model(model, signature, trusted)
    # model_signing raises ValueError, or lets InvalidSignature through for an edited payload.
    with pytest.raises((ValueError, InvalidSignature)):
        model_signing.verifying.Config().use_elliptic_key_verifier(
            public_key=trusted_public
        ).verify(model, signature)


def test_non_default_serialisations(tmp_path: Path, ec_key: tuple[Path, Path, KeySigner]) -> None:
    private, public, signer = ec_key
    model = _model(tmp_path, "nested-dir")
    trusted = TrustedKey(signer.public_key)
    configs = {
        "shards": model_signing.hashing.Config().use_shard_serialization(shard_size=1000),
        "blake3": model_signing.hashing.Config().use_file_serialization(hashing_algorithm="blake3"),
        "blake2": model_signing.hashing.Config().use_file_serialization(hashing_algorithm="blake2"),
    }
    for name, config in configs.items():
        signature = tmp_path / f"theirs-{name}.sig"
        _ms_sign_key(model, signature, private, [], hashing=config)
        verify_model(model, signature, trusted)  # Custody reads all of them
    ours = {
        "shards": Serialization.shards(1000),
        "blake3": Serialization.files("blake3"),
    }
    for name, serialization in ours.items():
        signature = tmp_path / f"ours-{name}.sig"
        sign_model(model, signer, serialization=serialization, output=signature)
        # model_signing's API reads ours (a fresh Config: it caches the first guess).
        model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public).verify(
            model, signature
        )
    # Upstream limits of model_signing 1.1.1 (noticed here if they change):
    with pytest.raises(TypeError):  # its shard_size comes back as a float
        model_signing.verifying.Config().use_elliptic_key_verifier(public_key=public).verify(
            model, tmp_path / "theirs-shards.sig"
        )


def test_ed25519_is_custody_only(tmp_path: Path) -> None:
    key = generate_private_key("ed25519")
    model = _model(tmp_path, "nested-dir")
    signature = tmp_path / "model.sig"
    sign_model(model, KeySigner(key), output=signature)
    verify_model(model, signature, TrustedKey(key.public_key()))
    public = tmp_path / "ed.pub"
    public.write_bytes(public_key_pem(key.public_key()))
    done = _ms_verify_cli("key", "--signature", signature, "--public_key", public, model)
    assert done.returncode != 0


def test_custody_cli_verifies_model_signing_output(
    tmp_path: Path, ec_key: tuple[Path, Path, KeySigner]
) -> None:
    private, public, _ = ec_key
    model = _model(tmp_path, "nested-dir")
    signature = model / "model.sig"  # inside the model, as model_signing users do
    _ms_sign_key(model, signature, private, ["notes"])
    custody = Path(sys.executable).with_name("custody")
    done = subprocess.run(
        [
            str(custody),
            "verify",
            str(model),
            "--signature",
            str(signature),
            "--public-key",
            str(public),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not (VECTORS / "oms-spec").is_dir(), reason=f"vectors not found at {VECTORS}")
def test_custody_bundles_validate_against_the_oms_schemas(
    tmp_path: Path, ec_key: tuple[Path, Path, KeySigner]
) -> None:
    import jsonschema
    from referencing import Registry, Resource

    schemas = {
        p.name: json.loads(p.read_text())
        for p in (VECTORS / "oms-spec" / "schemas" / "v1.0").glob("*.schema.json")
    }
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )

    def check(schema: str, instance: object) -> None:
        jsonschema.Draft202012Validator(schemas[schema], registry=registry).validate(instance)

    model = _model(tmp_path, "nested-dir")
    pki = make_pki()
    signers = {
        "key": ec_key[2],
        "certificate": CertificateSigner(KeySigner(pki.leaf_key), [pki.leaf, *pki.intermediates]),
    }
    for signer in signers.values():
        document = json.loads(sign_model(model, signer).bundle.to_bytes())
        check("bundle.schema.json", document)
        check(
            "statement.schema.json",
            json.loads(base64.b64decode(document["dsseEnvelope"]["payload"])),
        )


ESCAPE = (
    Path(__file__).resolve().parents[1] / "assets/signing/model-signing-escape-via-ignore-unsigned"
)


@pytest.mark.parametrize("ignore_unsigned", [False, True])
def test_regression_signed_name_escaping_the_model(ignore_unsigned: bool) -> None:
    from signing.keys import load_public_key
    from verifier.errors import UnsafeModelPath

    trusted = TrustedKey(load_public_key((ESCAPE / "key.pub").read_bytes()))
    with pytest.raises(UnsafeModelPath, match=r"\.\./secret\.txt"):
        verify_model(
            ESCAPE / "model", ESCAPE / "model.sig", trusted, ignore_unsigned_files=ignore_unsigned
        )


def test_model_signing_follows_the_escaping_name() -> None:
    # The upstream behaviour Custody guards against (model-signing 1.1.1): it hashes
    # ../secret.txt outside the model and reports success.
    done = _ms_verify_cli(
        "key",
        "--signature",
        ESCAPE / "model.sig",
        "--public_key",
        ESCAPE / "key.pub",
        "--ignore_unsigned_files",
        ESCAPE / "model",
    )
    assert done.returncode == 0, "model_signing changed: update the regression note"
