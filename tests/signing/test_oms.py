"""OMS statements and bundles: what is written, and how malformed input is refused."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, pae
from signing.errors import BundleFormatError, StatementFormatError, UnsafePathError
from signing.keys import key_id
from signing.manifest import Manifest, Serialization
from signing.oms import (
    BUNDLE_MEDIA_TYPE,
    PREDICATE_TYPE,
    Bundle,
    read_statement,
    statement_payload,
)
from signing.sign import sign_model
from signing.signers import KeySigner
from tests.support.signing_factories import make_model, new_key


def _statement(resources: list[dict[str, str]], root: bytes | None = None) -> dict[str, Any]:
    digest = (
        root or hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in resources)).digest()
    )
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "m", "digest": {"sha256": digest.hex()}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "resources": resources,
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": False},
        },
    }


def _res(name: str, fill: str = "1") -> dict[str, str]:
    return {"name": name, "algorithm": "sha256", "digest": fill * 64}


def test_statement_round_trip() -> None:
    manifest = Manifest.build(
        "m", Serialization.shards(4, ignore_paths=["x"]), {"a:0:4": b"1" * 32}
    )
    parsed = read_statement(statement_payload(manifest))
    assert parsed.manifest == manifest
    assert parsed.manifest.serialization == manifest.serialization
    statement = json.loads(statement_payload(manifest))
    assert statement["predicate"]["serialization"]["shard_size"] == 4  # an int, not 4.0


def test_subject_digest_is_checked_in_the_listed_order() -> None:
    listed = [_res("b", "2"), _res("a", "1")]
    assert read_statement(json.dumps(_statement(listed)).encode()).manifest.file_names() == (
        "b",
        "a",
    )
    resorted = hashlib.sha256(b"\x11" * 32 + b"\x22" * 32).digest()
    with pytest.raises(StatementFormatError, match="subject digest"):
        read_statement(json.dumps(_statement(listed, resorted)).encode())


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/passwd", "a/../../b", "a//b"])
def test_statements_naming_unsafe_paths_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        read_statement(json.dumps(_statement([_res(name)])).encode())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda s: s.update(_type="https://in-toto.io/Statement/v0.1"), "_type"),
        (lambda s: s.update(predicateType="https://slsa.dev/provenance/v1"), "not an OMS"),
        (lambda s: s.update(subject=[]), "exactly one subject"),
        (lambda s: s["predicate"].pop("resources"), "resources"),
        (lambda s: s["predicate"]["resources"][0].update(digest="zz"), "not hex"),
        (lambda s: s["predicate"]["resources"][0].update(digest="ab"), "bytes"),
        (lambda s: s["predicate"]["resources"][0].update(algorithm="blake3"), "disagrees"),
        (lambda s: s["predicate"]["resources"].append(_res("a")), "listed twice"),
        (lambda s: s["predicate"]["resources"].append(_res(".")), "single-file"),
    ],
)
def test_malformed_statements_are_refused(mutate: Any, message: str) -> None:
    statement = _statement([_res("a")])
    mutate(statement)
    with pytest.raises(StatementFormatError, match=message):
        read_statement(json.dumps(statement).encode())


def test_non_json_payload() -> None:
    with pytest.raises(StatementFormatError, match="not JSON"):
        read_statement(b"\xff\xfe")


def test_legacy_v02_statement_is_read() -> None:
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "signme-1", "digest": {"sha256": "ab" * 32}}],
        "predicateType": "https://model_signing/Digests/v0.1",
        "predicate": {"unused": "x"},
    }
    parsed = read_statement(json.dumps(statement).encode())
    assert parsed.legacy
    assert parsed.manifest.file_names() == ("signme-1",)


def _signed_bundle(tmp_path: Path) -> dict[str, Any]:
    model = make_model(tmp_path / "m", {"a.bin": b"a"})
    signer = KeySigner(new_key("ecdsa-p384"))
    document = dict(sign_model(model, signer).bundle.document)
    assert document["verificationMaterial"]["publicKey"]["hint"] == key_id(signer.public_key)
    return document


def test_written_bundle_has_the_oms_layout(tmp_path: Path) -> None:
    document = _signed_bundle(tmp_path)
    assert document["mediaType"] == BUNDLE_MEDIA_TYPE
    assert document["verificationMaterial"]["tlogEntries"] == []
    envelope = document["dsseEnvelope"]
    assert envelope["payloadType"] == IN_TOTO_PAYLOAD_TYPE
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["predicate"]["resources"][0]["name"] == "a.bin"
    assert ".git" in statement["predicate"]["serialization"]["ignore_paths"]
    parsed = Bundle.parse(json.dumps(document).encode())
    assert parsed.envelope.payload == base64.b64decode(envelope["payload"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", ', "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"\x89PNG", "not JSON"),
    ],
)
def test_truncated_and_non_json_bundles(data: bytes, message: str) -> None:
    with pytest.raises(BundleFormatError, match=message):
        Bundle.parse(data)


def test_truncated_real_bundle(tmp_path: Path) -> None:
    raw = json.dumps(_signed_bundle(tmp_path)).encode()
    for cut in (len(raw) // 3, len(raw) - 2):
        with pytest.raises(BundleFormatError):
            Bundle.parse(raw[:cut])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(mediaType="application/json"), "not a Sigstore bundle"),
        (lambda d: d.pop("verificationMaterial"), "verificationMaterial is missing"),
        (lambda d: d.pop("dsseEnvelope"), "no dsseEnvelope"),
        (
            lambda d: d.update(messageSignature=d.pop("dsseEnvelope")),
            "messageSignature, not a DSSE envelope",
        ),
        (lambda d: d["dsseEnvelope"].update(payloadType="text/plain"), "not in-toto"),
        (lambda d: d["dsseEnvelope"].update(signatures=[]), "signatures"),
        (lambda d: d["dsseEnvelope"].update(payload="!!not base64!!"), "base64"),
        (
            lambda d: d["verificationMaterial"].update(certificate={"rawBytes": "AA=="}),
            "exactly one",
        ),
        (lambda d: d["verificationMaterial"]["publicKey"].pop("hint"), "hint or rawBytes"),
    ],
)
def test_malformed_bundles_are_refused(tmp_path: Path, mutate: Any, message: str) -> None:
    document = _signed_bundle(tmp_path)
    mutate(document)
    with pytest.raises(BundleFormatError, match=message):
        Bundle.parse(json.dumps(document).encode())


def test_pae_is_dsse_v1() -> None:
    assert pae("t", b"hello") == b"DSSEv1 1 t 5 hello"
    envelope = Envelope.from_json(
        {
            "payload": base64.urlsafe_b64encode(b"x>?").decode().rstrip("="),
            "payloadType": "t",
            "signatures": [{"sig": "AA=="}],
        }
    )
    assert envelope.payload == b"x>?"
