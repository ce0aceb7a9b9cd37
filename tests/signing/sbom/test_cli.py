"""``custody sbom``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from custody.cli import cli
from signing.sbom import bind_bom, validate_bom
from tests.signing.sbom.builders import make_model_dir, onnx_model, raw_safetensors, write_onnx

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, list(args), env=env, catch_exceptions=False)


def test_sbom_is_listed() -> None:
    result = invoke("--help")
    assert "sbom" in result.output
    assert "MODEL_PATH" in invoke("sbom", "--help").output


def test_writes_a_bom(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    output = tmp_path / "bom.json"
    result = invoke(
        "sbom", str(model),
        "--name", "sd-turbo", "--version", "1.4.0", "--supplier", "Acme",
        "--license", "Apache-2.0",
        "--dataset", "laion@https://example.com/laion", "--dataset", "coco",
        "--dataset-sha256", "laion=" + "ef" * 32,
        "--task", "text-to-image", "--approach", "supervised",
        "--use-case", "illustration", "--limitation", "no text",
        "--output", str(output),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CycloneDX 1.6 ML-BOM, 4 files" in result.output
    bom = validate_bom(output.read_bytes())
    assert bom.spec_version == "1.6"
    component = bom.document["metadata"]["component"]
    assert (component["name"], component["version"]) == ("sd-turbo", "1.4.0")
    data = {c["name"]: c for c in bom.document["components"]}
    assert data["laion"]["hashes"][0]["content"] == "ef" * 32
    files = [(c["name"], c["hashes"][0]["content"]) for c in component["components"]]
    assert bind_bom(bom, files).method == "files+root"


def test_spec_version_17_and_stdout(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    result = invoke("sbom", str(model), "--spec-version", "1.7", "--output", "-")
    assert result.exit_code == 0
    assert json.loads(result.output)["specVersion"] == "1.7"


def test_output_inside_the_model_is_not_described(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    (model / "bom.json").write_text("stale")
    result = invoke("sbom", str(model), "--output", str(model / "bom.json"))
    assert result.exit_code == 0, result.output
    names = [
        c["name"]
        for c in json.loads((model / "bom.json").read_text())["metadata"]["component"]["components"]
    ]
    assert "bom.json" not in names


@pytest.mark.parametrize("typed", ["m/unet", "unet"])
def test_ignore_as_the_shell_or_the_model_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, typed: str
) -> None:
    """``--ignore`` reads as in custody sign and verify: from the shell's or the model's dir."""
    make_model_dir(tmp_path / "m")
    monkeypatch.chdir(tmp_path)
    result = invoke("sbom", "m", "--ignore", typed, "--output", "-")
    assert result.exit_code == 0, result.output
    component = json.loads(result.output)["metadata"]["component"]
    names = [c["name"] for c in component["components"]]
    assert names and not [n for n in names if n.startswith("unet")]


def test_an_ignore_naming_nothing_in_the_model_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_model_dir(tmp_path / "m")
    monkeypatch.chdir(tmp_path)
    result = invoke("sbom", "m", "--ignore", "no-such-dir", "--output", "-")
    assert result.exit_code == 2  # as for custody sign and verify
    assert "names nothing inside the model" in result.output


def test_source_date_epoch_sets_the_timestamp(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    result = invoke("sbom", str(model), "--output", "-", env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert json.loads(result.output)["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    result = invoke("sbom", str(model), "--output", "-", env={"SOURCE_DATE_EPOCH": "soon"})
    assert result.exit_code == 2


def test_a_lying_safetensors_header_exits_model_format(tmp_path: Path) -> None:
    header = {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    (tmp_path / "w.safetensors").write_bytes(raw_safetensors(header, bytes(8)))
    result = invoke("sbom", str(tmp_path), "--output", str(tmp_path / "out.json"))
    assert result.exit_code == 22
    assert "FAILED [model-file]: w.safetensors" in result.output
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("location", ["../escape.bin", "/etc/passwd"])
def test_external_data_outside_the_model_exits_8(tmp_path: Path, location: str) -> None:
    write_onnx(tmp_path / "m" / "model.onnx", onnx_model(external_location=location))
    result = invoke("sbom", str(tmp_path / "m"), "--output", str(tmp_path / "out.json"))
    assert result.exit_code == 8
    assert "FAILED [paths]" in result.output


def test_bad_metadata_exits_3(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    result = invoke("sbom", str(model), "--license", "openrail", "--output", "-")
    assert result.exit_code == 3
    assert "FAILED [metadata]" in result.output


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    assert invoke("sbom", str(model), "--spec-version", "1.5").exit_code == 2
    assert invoke("sbom", str(model), "--dataset-sha256", "nope").exit_code == 2
    assert invoke("sbom", str(model), "--dataset-sha256", "x=" + "0" * 64).exit_code == 2
    result = invoke("sbom", str(model), "--ignore", "/etc", "--output", "-")
    assert result.exit_code == 2 and "FAILED [ignore]" in result.output
