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


def test_replicas_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    """Two replicas vs one (PostgreSQL + SeaweedFS), one tiny round; no timing asserted."""
    from bench import replicas
    from tests.conftest import _postgres_admin_url, _postgres_reachable
    from tests.support.seaweedfs import weed_binary

    admin = _postgres_admin_url()
    if _postgres_reachable(admin) is not None or weed_binary() is None:
        pytest.skip("needs PostgreSQL and SeaweedFS's `weed`")
    argv = ["--runs", "1", "--seconds", "0.3", "--connections", "2"]
    argv += ["--size-mib", "6", "--chunk-mib", "2", "--database-url", admin]
    assert replicas.main(argv) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["errors"] == 0
    (manifest,) = report["manifest_runs"]
    for kind in ("one_replica", "two_replicas"):
        assert manifest[kind]["requests"] > 0, kind
    (upload,) = report["upload_runs"]
    assert upload["one_replica"]["close_seconds"] > 0
    assert upload["split"]["close_seconds"] > 0
    for key in ("median_manifest_two_vs_one", "median_upload_split_vs_one"):
        assert report[key] > 0, key
