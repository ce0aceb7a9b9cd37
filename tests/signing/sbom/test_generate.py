"""Generation: from the files' headers, hashed like OMS signing, valid for both spec versions."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cyclonedx.model.bom import Bom
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from model_signing import hashing as ms_hashing
from model_signing._signing.signing import Payload

from signing.errors import ModelPathError
from signing.hashing import hash_model
from signing.manifest import Serialization
from signing.sbom import (
    BomMetadata,
    BomMetadataError,
    Dataset,
    ExternalDataError,
    SafetensorsHeaderError,
    bind_bom,
    generate_bom,
    validate_bom,
)
from tests.signing.sbom.builders import (
    make_model_dir,
    onnx_model,
    raw_safetensors,
    write_onnx,
    write_safetensors,
)

METADATA = BomMetadata(
    name="sd-turbo",
    version="1.4.0",
    supplier="Acme",
    description="A tiny test model.",
    licenses=("apache-2.0",),
    datasets=(
        Dataset("laion-mini", "https://example.com/laion-mini", "ab" * 32),
        Dataset("eval-set"),
    ),
    approach="supervised",
    task="text-to-image",
    architecture_family="diffusion",
    model_architecture="latent diffusion U-Net",
    users=("artists",),
    use_cases=("illustration",),
    limitations=("no text rendering",),
)


def props(component: dict[str, Any], name: str) -> list[str]:
    return [p["value"] for p in component.get("properties", []) if p["name"] == name]


def files_of(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in document["metadata"]["component"]["components"]}


@pytest.mark.parametrize("version", ["1.6", "1.7"])
def test_generated_bom_validates_with_ours_and_the_librarys_validator(
    tmp_path: Path, version: str
) -> None:
    model = make_model_dir(tmp_path / "m")
    generated = generate_bom(model, METADATA, spec_version=version)
    data = generated.to_bytes()
    assert validate_bom(data).spec_version == version
    # The library's own validator (strict: no unknown properties), not only ours.
    validator = JsonStrictValidator(SchemaVersion.from_version(version))
    assert validator.validate_str(data.decode()) is None
    # And the library can read it (it drops the model card, which is why we do not use it).
    assert Bom.from_json(json.loads(data)).metadata.component.name == "sd-turbo"


def test_model_component_files_and_digests(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    generated = generate_bom(model, METADATA)
    document = dict(generated.document)
    component = document["metadata"]["component"]
    assert component["type"] == "machine-learning-model"
    assert (component["name"], component["version"]) == ("sd-turbo", "1.4.0")
    assert component["supplier"] == {"name": "Acme"}
    assert component["licenses"] == [{"license": {"id": "Apache-2.0"}}]

    files = files_of(document)
    assert sorted(files) == [
        "config.json",
        "model.onnx",
        "model.onnx.data",
        "unet/diffusion.safetensors",
    ]
    for name, entry in files.items():
        data = (model / name).read_bytes()
        assert entry["type"] == "file"
        assert entry["hashes"] == [{"alg": "SHA-256", "content": hashlib.sha256(data).hexdigest()}]
        assert props(entry, "custody:file:size") == [str(len(data))]
    assert files["config.json"]["mime-type"] == "application/json"
    assert props(files["model.onnx.data"], "custody:file:format") == ["onnx-external-data"]

    # The model digest is the OMS root digest, as our engine and model_signing compute it.
    manifest = hash_model(model, Serialization.files("sha256"))
    assert component["hashes"] == [{"alg": "SHA-256", "content": manifest.root_digest().hex()}]
    theirs = Payload(ms_hashing.Config().use_file_serialization().hash(model)).statement.pb
    assert theirs.subject[0].digest["sha256"] == generated.model_digest
    assert props(component, "custody:model:digest") == ["oms-root-sha256"]


def test_headers_are_described(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    files = files_of(dict(generate_bom(model).document))
    weights = files["unet/diffusion.safetensors"]
    assert props(weights, "custody:safetensors:tensor-count") == ["3"]
    assert props(weights, "custody:safetensors:parameter-count") == ["36"]
    assert props(weights, "custody:safetensors:dtypes") == ["F16,F32"]
    assert props(weights, "custody:safetensors:tensor") == [
        "F16[4,4] down.0.conv.weight",
        "F16[4,4] down.1.conv.weight",
        "F32[4] norm.scale",
    ]
    assert props(weights, "custody:safetensors:metadata:format") == ["pt"]

    graph = files["model.onnx"]
    assert props(graph, "custody:onnx:ir-version") == ["10"]
    assert props(graph, "custody:onnx:opset:ai.onnx") == ["17"]
    assert props(graph, "custody:onnx:producer") == ["custody-tests 1.0"]
    assert props(graph, "custody:onnx:input") == ["X: float[N,4]"]
    assert props(graph, "custody:onnx:output") == ["Y: float[N,2]"]
    assert props(graph, "custody:onnx:operator") == ["MatMul=1", "Relu=1"]
    assert props(graph, "custody:onnx:external-data") == ["model.onnx.data"]


def test_model_card(tmp_path: Path) -> None:
    document = dict(generate_bom(make_model_dir(tmp_path / "m"), METADATA).document)
    card = document["metadata"]["component"]["modelCard"]
    parameters = card["modelParameters"]
    assert parameters["approach"] == {"type": "supervised"}
    assert parameters["task"] == "text-to-image"
    assert parameters["architectureFamily"] == "diffusion"
    assert parameters["modelArchitecture"] == "latent diffusion U-Net"
    assert parameters["datasets"] == [{"ref": "dataset:laion-mini"}, {"ref": "dataset:eval-set"}]
    # One ONNX graph: its signature is the model's input and output format.
    assert parameters["inputs"] == [{"format": "X: float[N,4]"}]
    assert parameters["outputs"] == [{"format": "Y: float[N,2]"}]
    assert card["considerations"] == {
        "users": ["artists"],
        "useCases": ["illustration"],
        "technicalLimitations": ["no text rendering"],
    }
    datasets = {c["name"]: c for c in document["components"]}
    assert datasets["laion-mini"]["type"] == "data"
    assert datasets["laion-mini"]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert datasets["laion-mini"]["data"][0]["contents"] == {
        "url": "https://example.com/laion-mini"
    }
    assert "hashes" not in datasets["eval-set"]


def test_explicit_formats_win_over_the_onnx_signature(tmp_path: Path) -> None:
    metadata = BomMetadata(input_formats=("text prompt",), output_formats=("image/png",))
    card = generate_bom(make_model_dir(tmp_path / "m"), metadata).document["metadata"]["component"][
        "modelCard"
    ]
    assert card["modelParameters"]["inputs"] == [{"format": "text prompt"}]
    assert card["modelParameters"]["outputs"] == [{"format": "image/png"}]


def test_single_file_model_uses_the_files_sha256(tmp_path: Path) -> None:
    path = write_onnx(tmp_path / "classifier.onnx", onnx_model())
    generated = generate_bom(path)
    component = generated.document["metadata"]["component"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert component["name"] == "classifier"
    assert component["hashes"] == [{"alg": "SHA-256", "content": digest}]
    assert [c["name"] for c in component["components"]] == ["classifier.onnx"]
    assert props(component, "custody:model:digest") == ["file-sha256"]
    assert generated.files == {"classifier.onnx": digest}


def test_large_models_are_summarised_by_layer(tmp_path: Path) -> None:
    tensors = {f"layers.{i}.attn.q.weight": np.zeros((2, 2), np.float16) for i in range(40)}
    tensors |= {f"layers.{i}.mlp.weight": np.zeros(3, np.float32) for i in range(40)}
    tensors["embed"] = np.zeros((5, 2), np.float16)
    write_safetensors(tmp_path / "m" / "w.safetensors", tensors)
    generated = generate_bom(tmp_path / "m", max_listed_tensors=16)
    weights = files_of(dict(generated.document))["w.safetensors"]
    lines = props(weights, "custody:safetensors:tensor")
    assert sorted(lines) == [
        "F16[2,2] x40 layers.*.attn.q.weight",
        "F16[5,2] embed",
        "F32[3] x40 layers.*.mlp.weight",
    ]
    assert props(weights, "custody:safetensors:tensor-count") == ["81"]

    generated = generate_bom(tmp_path / "m", max_listed_tensors=1)
    weights = files_of(dict(generated.document))["w.safetensors"]
    assert len(props(weights, "custody:safetensors:tensor")) == 1
    assert props(weights, "custody:safetensors:tensors-omitted") != []


def test_git_paths_and_ignored_paths_are_left_out(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    (model / ".git").mkdir()
    (model / ".git" / "HEAD").write_text("ref: main\n")
    (model / "notes.txt").write_text("draft")
    generated = generate_bom(model, ignore=["notes.txt"])
    assert ".git/HEAD" not in generated.files and "notes.txt" not in generated.files
    assert ".git/HEAD" in generate_bom(model, ignore_git_paths=False).files


def test_reproducible_with_fixed_serial_and_timestamp(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path / "m")
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    serial = "urn:uuid:00000000-0000-4000-8000-000000000000"
    first = generate_bom(model, METADATA, serial_number=serial, timestamp=when).to_bytes()
    second = generate_bom(model, METADATA, serial_number=serial, timestamp=when).to_bytes()
    assert first == second
    assert json.loads(first)["metadata"]["timestamp"] == "2026-01-02T03:04:05Z"
    with pytest.raises(BomMetadataError, match="timezone"):
        generate_bom(model, timestamp=dt.datetime(2026, 1, 1))


def test_the_generated_bom_binds_to_its_files(tmp_path: Path) -> None:
    generated = generate_bom(make_model_dir(tmp_path / "m"), METADATA)
    binding = bind_bom(validate_bom(generated.to_bytes()), generated.files.items())
    assert binding.method == "files+root"
    assert binding.root_digest == generated.model_digest


# --- licences and metadata ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("mit",), [{"license": {"id": "MIT"}}]),
        (
            ("MIT", "Apache-2.0", "mit"),
            [{"license": {"id": "MIT"}}, {"license": {"id": "Apache-2.0"}}],
        ),
        (("MIT OR Apache-2.0",), [{"expression": "MIT OR Apache-2.0"}]),
        (
            ("LicenseRef-creativeml-openrail-m",),
            [{"expression": "LicenseRef-creativeml-openrail-m"}],
        ),
        (
            ("GPL-2.0-only WITH Classpath-exception-2.0",),
            [{"expression": "GPL-2.0-only WITH Classpath-exception-2.0"}],
        ),
    ],
)
def test_licences(tmp_path: Path, given: tuple[str, ...], expected: list[dict[str, Any]]) -> None:
    (tmp_path / "a.json").write_text("{}")
    component = generate_bom(tmp_path, BomMetadata(licenses=given)).document["metadata"][
        "component"
    ]
    assert component["licenses"] == expected


@pytest.mark.parametrize(
    "given",
    [("openrail",), ("Apache-2",), ("MIT", "MIT OR Apache-2.0"), ("MIT OR bogus-licence",)],
)
def test_unusable_licences_are_refused(tmp_path: Path, given: tuple[str, ...]) -> None:
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(BomMetadataError):
        generate_bom(tmp_path, BomMetadata(licenses=given))


@pytest.mark.parametrize(
    "metadata",
    [
        BomMetadata(approach="guessing"),
        BomMetadata(datasets=(Dataset("a"), Dataset("a"))),
        BomMetadata(datasets=(Dataset("a", sha256="xyz"),)),
    ],
    ids=["approach", "duplicate_dataset", "bad_dataset_hash"],
)
def test_unusable_metadata_is_refused(tmp_path: Path, metadata: BomMetadata) -> None:
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(BomMetadataError):
        generate_bom(tmp_path, metadata)


def test_spec_version_must_be_one_we_generate(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(BomMetadataError, match=r"1\.6, 1\.7"):
        generate_bom(tmp_path, spec_version="1.5")


def test_dataset_parsing() -> None:
    assert Dataset.parse("laion@https://x/y@z") == Dataset("laion", "https://x/y@z")
    assert Dataset.parse(" coco ") == Dataset("coco")
    with pytest.raises(BomMetadataError):
        Dataset.parse("@https://x")


# --- bad model files fail generation ------------------------------------------------------


def test_safetensors_with_a_duplicate_tensor_name_fails_generation(tmp_path: Path) -> None:
    text = (
        '{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},'
        ' "w": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}'
    )
    (tmp_path / "w.safetensors").write_bytes(raw_safetensors(text, b"\x00\x01"))
    with pytest.raises(SafetensorsHeaderError, match="named twice"):
        generate_bom(tmp_path)


def test_safetensors_that_lies_about_offsets_fails_generation(tmp_path: Path) -> None:
    header = {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    (tmp_path / "w.safetensors").write_bytes(raw_safetensors(header, bytes(8)))
    with pytest.raises(SafetensorsHeaderError, match=r"w\.safetensors"):
        generate_bom(tmp_path)


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "missing.bin"])
def test_onnx_external_data_outside_the_model_fails_generation(
    tmp_path: Path, location: str
) -> None:
    (tmp_path / "outside.bin").write_bytes(bytes(32))
    model = tmp_path / "model"
    write_onnx(model / "model.onnx", onnx_model(external_location=location))
    with pytest.raises(ExternalDataError):
        generate_bom(model)


def test_onnx_external_data_in_an_ignored_file_fails_generation(tmp_path: Path) -> None:
    write_onnx(tmp_path / "model.onnx", onnx_model(external_location="w.bin"))
    (tmp_path / "w.bin").write_bytes(bytes(32))
    generate_bom(tmp_path)
    with pytest.raises(ExternalDataError, match="not one of the model's files"):
        generate_bom(tmp_path, ignore=["w.bin"])


def test_single_onnx_file_cannot_reference_other_files(tmp_path: Path) -> None:
    path = write_onnx(tmp_path / "model.onnx", onnx_model(external_location="w.bin"))
    (tmp_path / "w.bin").write_bytes(bytes(32))
    with pytest.raises(ExternalDataError):
        generate_bom(path)


def test_a_symlink_out_of_the_model_fails_generation(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    model = tmp_path / "m"
    model.mkdir()
    (model / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(ModelPathError):
        generate_bom(model)


def test_an_empty_model_is_refused(tmp_path: Path) -> None:
    from signing.sbom import SbomError

    with pytest.raises(SbomError, match="no files"):
        generate_bom(tmp_path)
