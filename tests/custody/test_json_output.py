"""``--json`` on every command that prints a result (issue 14): one JSON document on stdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from custody.cli import cli
from tests.custody.conftest import small_model
from tests.registry.hub.conftest import generate, keys, png  # noqa: F401 - keys is a fixture
from tests.registry.hub.test_cli import _custody, _files, live_hub  # noqa: F401 - live_hub is a fixture


def _json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_keygen_sign_and_sbom_print_json(tmp_path: Path) -> None:
    key = tmp_path / "release.pem"
    made = _json("keygen", "--out", str(key), "--no-passphrase", "--json")
    assert made["private_key"] == str(key) and made["public_key"] == f"{key}.pub"
    assert made["encrypted"] is False and made["type"] == "ecdsa-p256"
    assert len(made["key_id"]) == 64

    model = small_model(tmp_path / "m")
    signature = tmp_path / "model.sig"
    signed = _json("sign", str(model), "--key", str(key), "--output", str(signature), "--json")
    assert signed["signature"] == str(signature) and signature.is_file()
    assert signed["resources"] == 2 and signed["hash"] == "sha256"

    bom = tmp_path / "bom.json"
    described = _json("sbom", str(model), "--output", str(bom), "--json")
    assert described["output"] == str(bom) and described["files"] == 2
    assert described["model_digest"] in bom.read_text()
    both = CliRunner().invoke(cli, ["sbom", str(model), "--output", "-", "--json"])
    assert both.exit_code == 2


def test_latent_and_output_sign_print_json(tmp_path: Path) -> None:
    key = tmp_path / "node.pem"
    _json("keygen", "--out", str(key), "--no-passphrase", "--type", "ed25519", "--json")
    latent = tmp_path / "latent.bin"
    latent.write_bytes(bytes(64))
    chain = tmp_path / "chain.jsonl"
    model = "acme/sd@sha256:" + "a" * 64
    prompt = "hmac-sha256:" + "b" * 64
    common = ["--dtype", "float32", "--shape", "1,4,2,2", "--model", model, "--sampler", "euler",
              "--scheduler", "karras", "--seed", "1", "--guidance", "7.5", "--node-id", "edge-01",
              "--prompt-hash", prompt, "--chain", str(chain), "--key", str(key)]  # fmt: skip
    root = _json("latent", "sign", str(latent), "--step", "0", *common, "--json")
    assert root["step"] == 0 and root["parent"] is None and root["chain"] == str(chain)
    child = _json("latent", "sign", str(latent), "--step", "1", *common, "--json")
    assert child["parent"] == root["record"]

    image = tmp_path / "out.png"
    image.write_bytes(png(seed=3))
    signed = _json("output", "sign", str(image), "--model", model, "--latents", str(chain),
                   "--key", str(key), "--license", "CC-BY-4.0", "--terms", "attribution",
                   "--creator", "alice@acme.example", "--json")  # fmt: skip
    assert signed["manifest"] == f"{image}.custody.json" and signed["c2pa"] is None
    assert signed["image_digest"].startswith("sha256:")
    assert Path(signed["manifest"]).is_file()


def test_register_and_reprint_print_json(live_hub, keys, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    gen = generate(keys, live_hub.model, image=png(seed=21))
    image, manifest, latents = _files(tmp_path, gen)
    pin = ["--log-key", live_hub.log_key]
    registered = _custody(live_hub, "output", "register", str(image), "--manifest", str(manifest),
                          "--latents", str(latents), *pin, "--json")  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    answer = json.loads(registered.stdout)
    assert answer["image_digest"] == gen.digest and isinstance(answer["log_index"], int)

    out = tmp_path / "attribution.json"
    reprinted = _custody(live_hub, "reprint", str(image), "--as", "daily-planet", "--out", str(out),
                         "--hub-key", str(live_hub.hub_key), *pin, "--json")  # fmt: skip
    assert reprinted.returncode == 0, reprinted.stderr
    summary = json.loads(reprinted.stdout)
    assert summary["original"] == gen.digest and summary["statement"] == str(out)
    assert summary["creator"] == "alice@acme.example" and summary["keys_pinned"] is True
    assert summary["log_index"] > answer["log_index"]


def test_one_file_is_one_file(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    _json("keygen", "--out", str(key), "--no-passphrase", "--json")
    model = tmp_path / "one"
    model.mkdir()
    (model / "config.json").write_text("{}")
    runner = CliRunner()
    signed = runner.invoke(cli, ["sign", str(model), "--key", str(key),
                                 "--output", str(tmp_path / "m.sig")])  # fmt: skip
    assert "(1 resource," in signed.stdout
    bom = runner.invoke(cli, ["sbom", str(model), "--output", str(tmp_path / "bom.json")])
    assert ", 1 file," in bom.stdout
    verified = runner.invoke(cli, ["verify", str(model), "--signature", str(tmp_path / "m.sig"),
                                   "--public-key", f"{key}.pub"])  # fmt: skip
    assert verified.exit_code == 0, verified.output
    assert "verified: 1 file, files/sha256" in verified.stdout  # the method is named files
