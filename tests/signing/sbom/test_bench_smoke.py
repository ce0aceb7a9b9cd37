"""The SBOM benchmark still runs (tiny model, tiny BOM, one round). No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import sbom


@pytest.mark.slow
def test_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    argv = ["--size-gib", "0.01", "--repeat", "1", "--bom-mib", "0.3", "--tmp", str(tmp_path)]
    assert sbom.main([*argv, "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["generate, four files"]["default threads"]["ratio_to_hashlib_1core"] > 0
    ingestion = figures["validate + bind"]
    assert ingestion["bom_mb"] > 0.2
    assert "jsonschema" in ingestion
