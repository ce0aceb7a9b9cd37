"""One key id, one spelling: keygen, sign, verify (text and JSON) and the wrong-key error."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from custody.cli import cli
from signing.keys import generate_private_key, key_id, load_public_key, public_key_pem
from signing.sign import sign_model
from signing.signers import KeySigner
from tests.support.signing_factories import make_model

runner = CliRunner()
FILES = {"config.json": b"{}", "weights/w.bin": b"\x01" * 999}


def invoke(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, list(map(str, args)), catch_exceptions=False)


def _key_id_line(output: str) -> str:
    found = re.findall(r"^key id: (\S+)$", output, flags=re.MULTILINE)
    assert len(found) == 1, output
    return str(found[0])


def test_keygen_sign_and_verify_print_one_key_id(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", FILES)
    made = invoke("keygen", "--out", tmp_path / "release.pem", "--no-passphrase")
    assert made.exit_code == 0, made.output
    from_keygen = _key_id_line(made.output)
    public = tmp_path / "release.pem.pub"
    assert from_keygen == key_id(load_public_key(public.read_bytes()))
    signed = invoke(
        "sign", model, "--key", tmp_path / "release.pem", "--output", tmp_path / "m.sig"
    )
    assert signed.exit_code == 0, signed.output
    assert _key_id_line(signed.output) == from_keygen
    bundle = json.loads((tmp_path / "m.sig").read_text())
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == from_keygen
    verified = invoke(
        "verify", model, "--signature", tmp_path / "m.sig", "--public-key", public, "--json"
    )
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["signers"][0]["key_id"] == from_keygen
    text = invoke("verify", model, "--signature", tmp_path / "m.sig", "--public-key", public)
    assert f"signed by key {from_keygen} " in text.output

    other = invoke("keygen", "--out", tmp_path / "other.pem", "--no-passphrase")
    other_id = _key_id_line(other.output)
    wrong = invoke(
        "verify",
        model,
        "--signature",
        tmp_path / "m.sig",
        "--public-key",
        tmp_path / "other.pem.pub",
    )
    assert wrong.exit_code == 5
    assert wrong.output.splitlines() == [
        f"FAILED [signature]: the bundle was signed by key {from_keygen}, not by the trusted "
        f"key {other_id} (ecdsa-p256 key {other_id[:16]})"
    ]


def test_policy_mode_names_the_signer_by_the_same_id(tmp_path: Path) -> None:
    model = make_model(tmp_path / "model", FILES)
    signer = KeySigner(generate_private_key("ecdsa-p384"))
    sign_model(model, signer, output=tmp_path / "m.sig")
    public = tmp_path / "alice.pub"
    public.write_bytes(public_key_pem(signer.public_key))
    policy = tmp_path / "trust.yaml"
    policy.write_text(
        "version: 1\nnamespaces:\n  - match: acme/*\n    signers:\n"
        f"      - {{name: alice, public_key: {public}}}\n"
    )
    result = invoke(
        "verify", model, "--signature", tmp_path / "m.sig",
        "--policy", policy, "--namespace", "acme", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    signer_json = json.loads(result.output)["signers"][0]
    assert signer_json["key_id"] == key_id(signer.public_key)
    assert signer_json["trusted_as"] == "alice"
