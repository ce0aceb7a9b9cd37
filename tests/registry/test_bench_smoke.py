"""The pull hot-path benchmark still runs (one tiny round against a real server).

No timing is asserted: only that every request kind was served without an error
and that each ratio is reported.
"""

from __future__ import annotations

import json

import pytest

from bench import manifest_get


def test_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert manifest_get.main(["--runs", "1", "--seconds", "0.3", "--connections", "2"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["errors"] == 0
    (run,) = report["runs"]
    for kind in ("reference", "custody", "anonymous", "head_blob"):
        assert run[kind]["requests"] > 0, kind
    for key in ("median_ratio", "median_anonymous_vs_token", "median_head_blob_vs_token"):
        assert report[key] > 0, key


def test_gc_pass_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import gc_pass

    assert gc_pass.main(["--blobs", "300", "--collectable", "40", "--skip-postgres"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("gc pass sqlite"))
    figures = json.loads(line.split(":", 1)[1])
    assert figures["correct"] is True and figures["collectable"] == 40
    assert figures["reviewed_rows_per_s"] > 0 and figures["longest_transaction_ms"] > 0


def test_gc_soak_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import gc_soak

    assert gc_soak.main(["--seconds", "1", "--clients", "2"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["ok"] is True and report["broken"] == []
    assert report["gc_passes"] > 0 and sum(report["operations"].values()) > 0
