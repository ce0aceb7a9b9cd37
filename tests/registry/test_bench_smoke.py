"""The pull hot-path benchmark still runs (one tiny round against a real server).

No timing is asserted: only that every request kind was served without an error
and that each ratio is reported.
"""

from __future__ import annotations

import json

import pytest

from bench import manifest_get, rate_limits


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


def test_rate_limit_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert rate_limits.main(["--runs", "1", "--seconds", "0.3", "--connections", "2"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["errors"] == 0
    (run,) = report["runs"]
    for kind in ("off", "memory", "redis"):
        assert run[kind]["requests"] > 0, kind
    for key in ("median_memory_vs_off", "median_redis_vs_off"):
        assert report[key] > 0, key
    assert set(report["admit_us"]) == {"memory", "redis"}
    assert all(cost > 0 for cost in report["admit_us"].values())
