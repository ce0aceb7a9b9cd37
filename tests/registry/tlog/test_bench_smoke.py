"""``python -m bench tlog`` still runs end to end (tiny sizes). No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import tlog


@pytest.mark.slow
def test_tlog_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    argv = ["--entries", "300", "--concurrency", "30", "--size", "5000", "--samples", "20"]
    assert tlog.main([*argv, "--skip-postgres", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["append"]["sqlite"]["log_entries_per_s"] > 0
    assert figures["inclusion_proof"]["sqlite"]["tree_size"] == 5000
