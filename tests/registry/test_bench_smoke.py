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


def test_quota_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import quota

    assert quota.main(["--links", "50", "--pushes", "3", "--quiet"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["median_push_ms"]["free"] > 0 and report["median_push_ms"]["capped"] > 0
    assert report["median_ratio_quota_vs_none"] > 0
    assert report["median_scrape_vs_healthz"] > 0
