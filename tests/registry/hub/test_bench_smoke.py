"""The hub benchmark still runs (one tiny round against a real server). No timing is asserted."""

from __future__ import annotations

import json

import pytest

from bench import hub


def test_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    options = ["--repeat", "1", "--outputs", "3", "--clients", "2", "--images", "1", "--side", "64"]
    assert hub.main(options) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{") : output.rindex("}") + 1])
    assert set(report) == {"register_30_step_chain", "c2pa_register_1024_png"}
    assert report["register_30_step_chain"]["hub_vs_bare_dsse_verify"] > 0
    c2pa = report["c2pa_register_1024_png"]
    assert c2pa["hub_raw_vs_reference_http"]["median"] > 0
    assert set(c2pa["median_ms"]) == {
        "reader", "reference_http", "hub_raw", "hub_multipart", "hub_with_chain", "checks",
        "checks_with_chain",
    }  # fmt: skip
