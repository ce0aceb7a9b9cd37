"""``custody keygen`` and ``custody sign``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from custody.cli import cli
from signing.keys import load_private_key
from tests.support.signing_factories import make_model, make_pki, write_private_key

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


@pytest.mark.parametrize("kind", ["ecdsa-p256", "ecdsa-p384", "ed25519"])
def test_keygen_with_passphrase_from_env(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "release"
    result = invoke(
        "keygen", "--type", kind, "--out", str(out), "--passphrase-env", "PW", env={"PW": "s3cret"}
    )
    assert result.exit_code == 0, result.output
    load_private_key(out.read_bytes(), b"s3cret")
    assert (tmp_path / "release.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert "encrypted" in result.output


def test_keygen_passphrase_from_file_and_prompt(tmp_path: Path) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text("from-file\n")
    assert (
        invoke("keygen", "--out", str(tmp_path / "a"), "--passphrase-file", str(secret)).exit_code
        == 0
    )
    load_private_key((tmp_path / "a").read_bytes(), b"from-file")
    result = invoke(
        "keygen", "--out", str(tmp_path / "b"), "--prompt-passphrase", input="typed\ntyped\n"
    )
    assert result.exit_code == 0, result.output
    load_private_key((tmp_path / "b").read_bytes(), b"typed")


def test_keygen_demands_an_explicit_passphrase_choice(tmp_path: Path) -> None:
    result = invoke("keygen", "--out", str(tmp_path / "k"))
    assert result.exit_code == 2
    assert "--no-passphrase" in result.output
    assert invoke("keygen", "--out", str(tmp_path / "k"), "--no-passphrase").exit_code == 0
    again = invoke("keygen", "--out", str(tmp_path / "k"), "--no-passphrase")
    assert again.exit_code == 3
    assert "already exists" in again.output


def test_sign_writes_model_sig_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.signing_factories import new_key

    model = make_model(tmp_path / "model")
    key = write_private_key(tmp_path / "k.pem", new_key(), b"pw")
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "sign", str(model), "--key", str(key), "--passphrase-env", "PW", env={"PW": "pw"}
    )
    assert result.exit_code == 0, result.output
    bundle = json.loads((tmp_path / "model.sig").read_text())
    assert "publicKey" in bundle["verificationMaterial"]


def test_sign_options(tmp_path: Path) -> None:
    from tests.support.signing_factories import new_key

    model = make_model(tmp_path / "model")
    key = write_private_key(tmp_path / "k.pem", new_key("ecdsa-p384"))
    out = tmp_path / "out.sig"
    result = invoke(
        "sign",
        str(model),
        "--key",
        str(key),
        "--hash",
        "blake2b",
        "--shard-size",
        "4096",
        "--ignore",
        "tokenizer",
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.output
    import base64

    statement = json.loads(base64.b64decode(json.loads(out.read_text())["dsseEnvelope"]["payload"]))
    serialization = statement["predicate"]["serialization"]
    assert serialization["method"] == "shards"
    assert serialization["shard_size"] == 4096
    assert serialization["hash_type"] == "blake2b"
    assert "tokenizer" in serialization["ignore_paths"]


def test_sign_refuses_an_ignore_that_names_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.signing_factories import new_key

    model = make_model(tmp_path / "model")
    key = write_private_key(tmp_path / "k.pem", new_key())
    out = tmp_path / "out.sig"
    monkeypatch.chdir(tmp_path)
    result = invoke(
        "sign", "model", "--key", str(key), "--ignore", "nothing-here", "--output", str(out)
    )
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"FAILED [ignore]: the ignore path 'nothing-here' names nothing inside the model "
        f"{model.resolve()} (looked for {tmp_path.resolve() / 'nothing-here'} or "
        f"{model.resolve() / 'nothing-here'})"
    ]
    assert not out.exists()


@pytest.mark.parametrize("typed", ["model/tokenizer", "tokenizer"])
def test_sign_ignore_as_the_shell_or_the_model_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    import base64

    from tests.support.signing_factories import new_key

    make_model(tmp_path / "model")
    key = write_private_key(tmp_path / "k.pem", new_key())
    monkeypatch.chdir(tmp_path)
    result = invoke("sign", "model", "--key", str(key), "--ignore", typed, "--output", "out.sig")
    assert result.exit_code == 0, result.output
    bundle = json.loads((tmp_path / "out.sig").read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert "tokenizer" in statement["predicate"]["serialization"]["ignore_paths"]
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert names and not [n for n in names if n.startswith("tokenizer")]


def test_sign_with_certificate_chain(tmp_path: Path) -> None:
    files = make_pki().write(tmp_path / "pki")
    model = make_model(tmp_path / "model", {"a": b"a"})
    out = tmp_path / "c.sig"
    result = invoke(
        "sign",
        str(model),
        "--key",
        str(files["key"]),
        "--certificate-chain",
        str(files["chain"]),
        "--output",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "x509CertificateChain" in json.loads(out.read_text())["verificationMaterial"]


def test_sign_failures_are_one_line_with_an_exit_code(tmp_path: Path) -> None:
    from tests.support.signing_factories import new_key

    model = make_model(tmp_path / "model", {"a": b"a"})
    encrypted = write_private_key(tmp_path / "k.pem", new_key(), b"pw")
    result = invoke("sign", str(model), "--key", str(encrypted), "--output", str(tmp_path / "s"))
    assert result.exit_code == 3
    assert result.output.strip().startswith("FAILED [key]")
    plain = write_private_key(tmp_path / "p.pem", new_key())
    (model / "leak").symlink_to("/etc/hostname")
    result = invoke("sign", str(model), "--key", str(plain), "--output", str(tmp_path / "s"))
    assert result.exit_code == 8
    assert "FAILED [paths]" in result.output
    result = invoke(
        "sign", str(model), "--key", str(plain), "--allow-symlinks", "--output", str(tmp_path / "s")
    )
    assert result.exit_code == 8
    assert "outside the model" in result.output
    result = invoke("sign", str(model), "--key", "pkcs11:object=x", "--output", str(tmp_path / "s"))
    assert result.exit_code == 3


def test_help_documents_exit_codes() -> None:
    result = invoke("sign", "--help")
    assert "Exit status" in result.output
    assert "Ed25519" in invoke("keygen", "--help").output
