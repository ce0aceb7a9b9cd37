"""The sign/verify benchmark still runs (tiny model, one repeat). No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import sign_verify


@pytest.mark.slow
def test_benchmark_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"
    argv = ["--size-gib", "0.02", "--small-gib", "0", "--repeat", "1", "--shard-mib", "4"]
    assert sign_verify.main([*argv, "--json", str(out)]) == 0
    figures = json.loads(out.read_text())["large"]
    assert set(figures["api"]) == {
        "files/sha256 (default)",
        "shards/sha256 (4 MiB)",
        "files/blake3",
    }
    assert figures["cli"]["files/sha256 (default)"]["sign_peak_rss_mib"] > 0
    assert "model_signing" in capsys.readouterr().out
