"""The provenance benchmark still runs (one tiny round). No timing is asserted."""

from __future__ import annotations

import json

import pytest

from bench import provenance


def test_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert provenance.main(["--repeat", "1", "--records", "3", "--reads", "2"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{") : output.rindex("}") + 1])
    assert set(report) == {
        "latent_record_ed25519",
        "latent_record_ecdsa_p256",
        "c2pa_validate_1024_png",
    }
    assert report["c2pa_validate_1024_png"]["verify_c2pa_vs_reader"] > 0
