"""``custody latent`` / ``custody output``: sign and verify from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization

from custody.cli import cli
from signing.keys import generate_private_key, private_key_pem, public_key_pem
from tests.support.c2pa_pki import image, make_c2pa_pki
from tests.support.provenance_factories import MODEL


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    pki = make_c2pa_pki()
    node = generate_private_key("ed25519")
    (tmp_path / "node.pem").write_bytes(private_key_pem(node, None))
    (tmp_path / "creator.pem").write_bytes(private_key_pem(pki.leaf_key, None))
    pem = serialization.Encoding.PEM
    (tmp_path / "chain.pem").write_bytes(pki.leaf.public_bytes(pem) + pki.root.public_bytes(pem))
    (tmp_path / "anchors.pem").write_bytes(pki.anchors_pem)
    (tmp_path / "prompt.txt").write_text("a red fox in the snow")
    (tmp_path / "out.png").write_bytes(image((30, 60, 90)))
    (tmp_path / "node.pub").write_bytes(public_key_pem(node.public_key()))
    (tmp_path / "creator.pub").write_bytes(public_key_pem(pki.leaf_key.public_key()))
    (tmp_path / "reprint.yaml").write_text(
        "version: 1\n"
        "terms:\n"
        "  attribution: {requires_attribution: true}\n"
        "  non-commercial: {forbids: [commercial]}\n"
        "namespaces:\n"
        "  - match: 'acme/**'\n"
        "    creators: [{name: studio, public_key: creator.pub}]\n"
        "    nodes: [{name: edge-01, public_key: node.pub}]\n"
    )
    return tmp_path


def sign_chain(ws: Path, steps: tuple[int, ...] = (0, 1, 2)) -> None:
    assert run("latent", "salt", "--out", ws / "salt").exit_code == 0
    for step in steps:
        (ws / f"latent{step}.bin").write_bytes(bytes([step]) * 64)
        result = run(
            "latent", "sign", ws / f"latent{step}.bin",
            "--dtype", "float32", "--shape", "1,4,2,2", "--step", str(step),
            "--model", MODEL, "--sampler", "euler", "--scheduler", "karras",
            "--seed", "42", "--guidance", "7.5", "--node-id", "edge-01",
            "--prompt-file", ws / "prompt.txt", "--salt-file", ws / "salt",
            "--param", "steps=30", "--runtime", "onnxruntime=1.20",
            "--chain", ws / "chain.jsonl", "--key", ws / "node.pem",
        )  # fmt: skip
        assert result.exit_code == 0, result.output


def test_sign_and_verify_an_output_with_c2pa(workspace: Path) -> None:
    ws = workspace
    sign_chain(ws)
    assert "a red fox" not in (ws / "chain.jsonl").read_text()
    result = run(
        "output", "sign", ws / "out.png", "--model", MODEL, "--latents", ws / "chain.jsonl",
        "--key", ws / "creator.pem", "--license", "CC-BY-NC-4.0",
        "--terms", "attribution,non-commercial", "--creator", "mailto:studio@acme.example",
        "--c2pa", "--cert-chain", ws / "chain.pem",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (ws / "out.png.custody.json").exists()
    assert (ws / "out.c2pa.png").exists()
    common = ("--latents", ws / "chain.jsonl", "--policy", ws / "reprint.yaml")
    result = run("output", "verify", ws / "out.png", *common, "--namespace", "acme/art")
    assert result.exit_code == 0, result.output
    assert '"steps": [0, 1, 2]' in result.output
    result = run(
        "output", "verify", ws / "out.c2pa.png", "--c2pa", "--trust-anchors", ws / "anchors.pem",
        *common, "--namespace", "acme/art", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"state": "Trusted"' in result.output
    result = run("latent", "verify", ws / "chain.jsonl", "--policy", ws / "reprint.yaml",
                 "--namespace", "acme/art")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_failures_are_one_line_and_a_status(workspace: Path) -> None:
    ws = workspace
    sign_chain(ws, steps=(0, 1))
    result = run(
        "output", "sign", ws / "out.png", "--model", MODEL, "--latents", ws / "chain.jsonl",
        "--key", ws / "creator.pem", "--license", "MIT", "--terms", "attribution",
        "--creator", "studio",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # Other image bytes than the manifest names.
    (ws / "other.png").write_bytes(image((1, 2, 3)))
    result = run(
        "output", "verify", ws / "other.png", "--manifest", ws / "out.png.custody.json",
        "--latents", ws / "chain.jsonl", "--policy", ws / "reprint.yaml", "--namespace", "acme/a",
    )  # fmt: skip
    assert result.exit_code == 7
    assert result.output.strip().startswith("FAILED [integrity] image-digest-mismatch:")
    assert len(result.output.strip().splitlines()) == 1
    # A namespace the policy does not cover.
    result = run(
        "latent", "verify", ws / "chain.jsonl", "--policy", ws / "reprint.yaml",
        "--namespace", "globex",
    )  # fmt: skip
    assert result.exit_code == 9
    assert "no-reprint-rule" in result.output
    # The rule 'acme/**' covers the repository, and the namespace alone (ADR 0012).
    for lookup in (["--namespace", "acme"], ["--repository", "acme/tiny"]):
        result = run(
            "latent", "verify", ws / "chain.jsonl", "--policy", ws / "reprint.yaml", *lookup
        )
        assert result.exit_code == 0, result.output
    result = run("latent", "verify", ws / "chain.jsonl", "--policy", ws / "reprint.yaml")
    assert result.exit_code == 2 and "--repository" in result.output
    # C2PA on an image without credentials.
    result = run(
        "output", "verify", ws / "out.png", "--c2pa", "--trust-anchors", ws / "anchors.pem"
    )
    assert result.exit_code == 4
    assert "c2pa-manifest-missing" in result.output


def test_signing_input_errors_are_one_line(workspace: Path) -> None:
    ws = workspace
    (ws / "latent.bin").write_bytes(bytes(10))
    result = run(
        "latent", "sign", ws / "latent.bin", "--dtype", "float32", "--shape", "1,4,2,2",
        "--step", "0", "--model", MODEL, "--sampler", "e", "--scheduler", "k", "--seed", "1",
        "--guidance", "1", "--node-id", "n", "--prompt-hash", "hmac-sha256:" + "0" * 64,
        "--chain", ws / "c.jsonl", "--key", ws / "node.pem",
    )  # fmt: skip
    assert result.exit_code == 3
    assert result.output.startswith("FAILED [input]: latent holds 10 bytes")
    result = run(
        "output", "sign", ws / "out.png", "--model", MODEL, "--latents", ws / "prompt.txt",
        "--key", ws / "missing.pem", "--license", "MIT", "--terms", "x", "--creator", "c",
    )  # fmt: skip
    assert result.exit_code == 3
    assert result.output.startswith("FAILED [key]")


def test_c2pa_credentials_verify_without_the_chain_where_the_policy_allows(
    workspace: Path,
) -> None:
    ws = workspace
    sign_chain(ws)
    result = run(
        "output", "sign", ws / "out.png", "--model", MODEL, "--latents", ws / "chain.jsonl",
        "--key", ws / "creator.pem", "--license", "MIT", "--terms", "attribution",
        "--creator", "studio", "--c2pa", "--cert-chain", ws / "chain.pem",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    c2pa = ("--c2pa", "--trust-anchors", ws / "anchors.pem")
    result = run("output", "verify", ws / "out.c2pa.png", *c2pa, "--policy", ws / "reprint.yaml",
                 "--namespace", "acme/art")  # fmt: skip
    assert result.exit_code == 9, result.output
    assert result.output.strip().startswith("FAILED [policy] latent-chain-required:")
    allowing = ws / "allowing.yaml"
    allowing.write_text((ws / "reprint.yaml").read_text() + "    c2pa_without_latents: true\n")
    result = run("output", "verify", ws / "out.c2pa.png", *c2pa, "--policy", allowing,
                 "--namespace", "acme/art", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert '"steps": []' in result.output and '"creator"' in result.output
    # Without --c2pa there is no manifest to take the model from: the chain is needed.
    result = run("output", "verify", ws / "out.png", "--policy", allowing, "--namespace", "acme/a")
    assert result.exit_code == 2 and "--latents" in result.output
    result = run("output", "verify", ws / "out.png", "--latents", ws / "chain.jsonl")
    assert result.exit_code == 2 and "--policy" in result.output
