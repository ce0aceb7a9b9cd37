"""``custody verify``: modes, one-line failures and documented exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from custody.cli import cli
from signing.keys import generate_private_key, public_key_pem
from signing.sign import sign_model
from signing.signers import CertificateSigner, KeySigner
from tests.support.signing_factories import make_model, make_pki
from tests.verifier.test_vectors import VECTORS

runner = CliRunner()


def invoke(*args: str | Path):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, ["verify", *map(str, args)], catch_exceptions=False)


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path, Path]:
    model = make_model(tmp_path / "model")
    signer = KeySigner(generate_private_key("ecdsa-p384"))
    signature = tmp_path / "model.sig"
    sign_model(model, signer, output=signature)
    public = tmp_path / "key.pub"
    public.write_bytes(public_key_pem(signer.public_key))
    return model, signature, public


def _last_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1]


def test_public_key_mode(signed: tuple[Path, Path, Path]) -> None:
    model, signature, public = signed
    result = invoke(model, "--signature", signature, "--public-key", public)
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    as_json = json.loads(
        invoke(model, "--signature", signature, "--public-key", public, "--json").output
    )
    assert as_json["verified"] and as_json["signers"][0]["kind"] == "key"


@pytest.mark.parametrize(
    ("tamper", "code", "check", "names"),
    [
        (lambda m, s, k: (m / "config.json").write_text("{}"), 7, "integrity", "config.json"),
        (lambda m, s, k: (m / "new.bin").write_text("x"), 7, "integrity", "extra: new.bin"),
        (lambda m, s, k: (m / "empty.txt").unlink(), 7, "integrity", "missing: empty.txt"),
        (
            lambda m, s, k: k.write_bytes(
                public_key_pem(generate_private_key("ecdsa-p256").public_key())
            ),
            5,
            "signature",
            "not by the trusted key",
        ),
        (lambda m, s, k: s.write_bytes(s.read_bytes()[:100]), 4, "bundle", "not JSON"),
        (lambda m, s, k: s.unlink(), 3, "input", "cannot read signature"),
        (lambda m, s, k: k.write_text("garbage"), 3, "input", "not a supported public key"),
        (lambda m, s, k: (m / "link").symlink_to("/etc/hostname"), 8, "paths", "symbolic link"),
    ],
)
def test_failures_are_one_line_with_a_check_and_exit_code(
    signed: tuple[Path, Path, Path],
    tamper,
    code: int,
    check: str,
    names: str,  # type: ignore[no-untyped-def]
) -> None:
    model, signature, public = signed
    tamper(model, signature, public)
    result = invoke(model, "--signature", signature, "--public-key", public)
    assert result.exit_code == code, result.output
    line = _last_line(result.output)
    assert line.startswith(f"FAILED [{check}]")
    assert names in line
    assert len(result.output.strip().splitlines()) == 1


def test_certificate_chain_mode(tmp_path: Path) -> None:
    pki = make_pki()
    files = pki.write(tmp_path / "pki")
    model = make_model(tmp_path / "model", {"a.bin": b"a"})
    signer = CertificateSigner(KeySigner(pki.leaf_key), [pki.leaf, *pki.intermediates])
    sign_model(model, signer, output=tmp_path / "c.sig")
    ok = invoke(model, "--signature", tmp_path / "c.sig", "--certificate-chain", files["root"])
    assert ok.exit_code == 0, ok.output
    other = make_pki().write(tmp_path / "other")
    bad = invoke(model, "--signature", tmp_path / "c.sig", "--certificate-chain", other["root"])
    assert bad.exit_code == 6
    assert _last_line(bad.output).startswith("FAILED [identity]")
    no_root = invoke(model, "--signature", tmp_path / "c.sig", "--certificate-chain", files["leaf"])
    assert no_root.exit_code == 3


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"conformance vectors not found at {VECTORS}")
def test_sigstore_mode_offline() -> None:
    folder = VECTORS / "oms" / "v1.1.0-sigstore"
    trust = VECTORS / "sigstore" / "trust"
    base = [
        folder,
        "--signature",
        folder / "model.sig",
        "--ignore",
        "ignore-me",
        "--issuer",
        "https://sigstore.verify.ibm.com/oauth2",
    ]
    ok = invoke(
        *base,
        "--identity",
        "stefanb@us.ibm.com",
        "--trust-config",
        trust / "production" / "client_trust_config.json",
    )
    assert ok.exit_code == 0, ok.output
    assert invoke(*base, "--identity", "stefanb@us.ibm.com").exit_code == 0  # shipped root
    wrong_id = invoke(*base, "--identity", "mallory@example.com")
    assert wrong_id.exit_code == 6
    assert "mallory@example.com" in wrong_id.output
    wrong_root = invoke(*base, "--identity", "stefanb@us.ibm.com", "--trust-config", "staging")
    assert wrong_root.exit_code == 6


def test_policy_mode(tmp_path: Path, signed: tuple[Path, Path, Path]) -> None:
    model, signature, public = signed
    policy = tmp_path / "trust.yaml"
    policy.write_text(
        f"version: 1\nnamespaces:\n  - match: 'acme/**'\n    signers:\n"
        f"      - {{name: alice, public_key: {public}}}\n"
    )
    ok = invoke(model, "--signature", signature, "--policy", policy, "--namespace", "acme/m")
    assert ok.exit_code == 0, ok.output
    assert "verified" in ok.output and "(alice)" in ok.output
    other = invoke(model, "--signature", signature, "--policy", policy, "--namespace", "evil/m")
    assert other.exit_code == 9
    assert _last_line(other.output).startswith("FAILED [policy]")
    policy.write_text("version: 1\nnamespaces:\n  - match: x/*\n    signrs: []\n")
    broken = invoke(model, "--signature", signature, "--policy", policy, "--namespace", "x")
    assert broken.exit_code == 3
    assert f"{policy}:4" in broken.output


def test_audit_level_reports_without_failing(
    tmp_path: Path, signed: tuple[Path, Path, Path]
) -> None:
    model, signature, _ = signed
    stranger = tmp_path / "stranger.pub"
    stranger.write_bytes(public_key_pem(generate_private_key("ed25519").public_key()))
    policy = tmp_path / "trust.yaml"
    policy.write_text(
        "version: 1\nnamespaces:\n  - match: lab/*\n    level: audit\n    signers:\n"
        f"      - {{name: stranger, public_key: {stranger}}}\n"
    )
    result = invoke(model, "--signature", signature, "--policy", policy, "--namespace", "lab")
    assert result.exit_code == 0
    assert "WARNING audit:" in result.output
    assert "NOT verified" in result.output


def test_usage_errors(signed: tuple[Path, Path, Path]) -> None:
    model, signature, public = signed
    assert invoke(model, "--signature", signature).exit_code == 2
    both = invoke(model, "--signature", signature, "--public-key", public, "--identity", "x")
    assert both.exit_code == 2
    assert invoke(model, "--signature", signature, "--identity", "x").exit_code == 2
    many = invoke(model, "--signature", signature, "--signature", signature, "--public-key", public)
    assert many.exit_code == 2


def test_help_documents_every_exit_code() -> None:
    text = invoke("--help").output
    for code in ("0", "2", "3", "4", "5", "6", "7", "8", "9"):
        assert f"  {code}  " in text


def test_installed_console_script(signed: tuple[Path, Path, Path]) -> None:
    model, signature, public = signed
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
