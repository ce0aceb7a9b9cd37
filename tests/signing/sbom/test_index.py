"""Indexing reads the JSON itself: licences, suppliers, datasets, opsets, dtypes, hashes."""

from __future__ import annotations

import json
from pathlib import Path

from signing.sbom import BomMetadata, Dataset, generate_bom, index_bom, validate_bom
from signing.sbom._index import spdx_ids_in_expression
from tests.signing.sbom.builders import ASSETS, make_model_dir


def test_index_of_a_generated_bom(tmp_path: Path) -> None:
    metadata = BomMetadata(
        name="sd",
        version="2.0",
        supplier="Acme",
        licenses=("MIT", "Apache-2.0"),
        datasets=(Dataset("laion", "https://example.com/laion", "cd" * 32), Dataset("coco")),
    )
    generated = generate_bom(make_model_dir(tmp_path / "m"), metadata)
    index = index_bom(validate_bom(generated.to_bytes()))
    assert (index.model_name, index.model_version, index.model_ref) == ("sd", "2.0", "model")
    assert index.licenses == ("MIT", "Apache-2.0")
    assert index.model_licenses == ("MIT", "Apache-2.0")
    assert index.suppliers == ("Acme",)
    assert [(d.name, d.url, d.bom_ref) for d in index.datasets] == [
        ("laion", "https://example.com/laion", "dataset:laion"),
        ("coco", None, "dataset:coco"),
    ]
    assert index.datasets[0].hashes == (("SHA-256", "cd" * 32),)
    assert index.onnx_opsets == {"ai.onnx": 17}
    # ONNX "float" is indexed with the safetensors spelling.
    assert index.tensor_dtypes == ("F16", "F32")
    hashes = {(h.component, h.content) for h in index.component_hashes}
    assert ("model", generated.model_digest) in hashes
    for name, digest in generated.files.items():
        assert (f"file:{name}", digest) in hashes
    assert index.component_count == 1 + 4 + 2
    assert json.loads(json.dumps(index.to_json()))["onnx_opsets"] == {"ai.onnx": 17}


def test_index_of_the_specification_ml_example() -> None:
    bom = validate_bom((ASSETS / "cyclonedx-spec" / "valid-machine-learning-1.7.json").read_bytes())
    index = index_bom(bom)
    assert (index.model_name, index.model_version, index.model_ref) == (
        "stable-diffusion",
        "1.4",
        "component-a",
    )
    assert [(d.name, d.url) for d in index.datasets] == [
        ("Training Data", "https://example.com/path/to/dataset")
    ]
    assert index.licenses == () and index.component_hashes == ()


def test_index_of_a_real_bom_written_by_another_tool() -> None:
    bom = validate_bom((ASSETS / "real" / "ruff-0.17.6.cyclonedx.json").read_bytes())
    index = index_bom(bom)
    assert "MIT" in index.licenses
    assert index.component_count > 300
    assert index.model_name is None  # not an ML-BOM: nothing to bind, still indexable
    assert index.onnx_opsets == {} and index.tensor_dtypes == ()


def test_licence_expressions_names_and_suppliers() -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"supplier": {"name": "Top"}, "manufacturer": {"name": "Maker"}},
        "components": [
            {
                "type": "machine-learning-model",
                "name": "m",
                "supplier": {"name": "Top"},
                "licenses": [{"expression": "(mit OR GPL-2.0-only WITH Classpath-exception-2.0)"}],
            },
            {
                "type": "library",
                "name": "x",
                "manufacturer": {"name": "Lib Co"},
                "licenses": [{"license": {"name": "Custom Licence"}}],
            },
            {
                "type": "data",
                "name": "cfg",
                "bom-ref": "cfg",
                "data": [{"type": "configuration", "name": "app.ini"}],
            },
        ],
    }
    index = index_bom(validate_bom(json.dumps(document).encode()))
    assert index.licenses == ("MIT", "GPL-2.0-only")
    assert index.model_licenses == ("MIT", "GPL-2.0-only")
    assert index.license_expressions == ("(mit OR GPL-2.0-only WITH Classpath-exception-2.0)",)
    assert index.license_names == ("Custom Licence",)
    assert index.suppliers == ("Top", "Maker", "Lib Co")
    assert index.datasets == ()  # a data component that is configuration, not a dataset


def test_spdx_ids_in_expression() -> None:
    assert spdx_ids_in_expression("Apache-2.0 AND (MIT OR LicenseRef-x)") == [
        "Apache-2.0",
        "MIT",
        "LicenseRef-x",
    ]
    assert spdx_ids_in_expression("gpl-2.0+ WITH bison-exception-2.2") == ["GPL-2.0+"]
    assert spdx_ids_in_expression("apache-2.0+") == ["Apache-2.0+"]
