"""The demo namespace: seeded by a real ``custody serve`` on an empty registry, verified through
the registry's own API and the hub client, not seeded twice nor on a registry with content,
and removed by ``custody demo remove`` (both engines)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from registry.db.engine import create_sync_engine
from registry.db.models import ApiToken, Blob, GcReview, HubOutput, Namespace, Repository, Tag
from registry.demo.seed import MARKER, prepare, why_not
from registry.settings import DatabaseSettings, DemoSettings, PolicySettings, Settings
from tests.support.live import CUSTODY, START_DEADLINE_S, cli_env, running_server
from tests.support.tokens import issue
from verifier.clients.hub import HubClient

REPOSITORY = "demo/tiny-add"


def _wait_for(path: Path, log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while not path.is_file():
        assert "demo: seeding failed" not in log.read_text(), log.read_text()
        assert time.monotonic() < deadline, f"no {path}; server log:\n{log.read_text()}"
        time.sleep(0.2)


def _log_of(base: str, data_dir: Path) -> Path:
    return data_dir.parent / f"server-{base.rsplit(':', 1)[1]}.log"


def _count(database_url: str, query: object) -> int:
    engine = create_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(query) or 0)  # type: ignore[call-overload]
    finally:
        engine.dispose()


def _tuf_targets(base: str) -> set[str]:
    timestamp = httpx.get(f"{base}/tuf/timestamp.json").json()
    snapshot_version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
    snapshot = httpx.get(f"{base}/tuf/{snapshot_version}.snapshot.json").json()
    targets: set[str] = set()
    for name, meta in snapshot["signed"]["meta"].items():
        role = name.removesuffix(".json")
        document = httpx.get(f"{base}/tuf/{meta['version']}.{role}.json").json()
        targets.update(document["signed"].get("targets", {}))
    return targets


def test_seeded_on_first_start_once_and_removed(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    marker = data_dir / "demo" / MARKER
    with running_server(data_dir, database_url, {"CUSTODY_DEMO": "1"}) as base:
        log = _log_of(base, data_dir)
        _wait_for(marker, log)
        # The marker is written just before the line naming the pages: wait for the line too.
        deadline = time.monotonic() + START_DEADLINE_S
        while "model page" not in (text := log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        image = (data_dir / "demo" / "demo-output.png").resolve()
        assert f"{base}/ui/{REPOSITORY}" in text
        assert f"{base}/ui/-/verify (drop {image} on it)" in text
        assert httpx.get(f"{base}/ui/{REPOSITORY}").status_code == 200

        version = httpx.get(f"{base}/api/v1/models/{REPOSITORY}/versions/1.0.0").json()
        assert [s["outcome"] for s in version["signatures"]] == ["verified"]
        assert "demo-release" in version["signatures"][0]["signer"]
        assert version["aliases"] == ["prod"]
        assert {r["kind"] for r in version["referrers"]} == {"signature", "sbom"}
        assert {f["name"] for f in version["files"]} == {"model.onnx", "config.json"}
        (sbom,) = [r["digest"] for r in version["referrers"] if r["kind"] == "sbom"]
        accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
        layers = httpx.get(f"{base}/v2/{REPOSITORY}/manifests/{sbom}", headers=accept).json()
        bom = httpx.get(f"{base}/v2/{REPOSITORY}/blobs/{layers['layers'][0]['digest']}")
        assert bom.json()["bomFormat"] == "CycloneDX"
        assert "Apache-2.0" in bom.text
        assert f"{REPOSITORY}/1.0.0/model.onnx" in _tuf_targets(base)

        # The image on disk is the registered one; its receipt verifies (hub client).
        digest = "sha256:" + hashlib.sha256(image.read_bytes()).hexdigest()
        assert json.loads(marker.read_text())["image_digest"] == digest
        with HubClient(base) as hub:
            attribution = hub.attribution(digest)
        assert attribution.view["creator"] == "mailto:demo@example.com"
        assert attribution.view["model"]["signature_verified"] is True
        assert [r["reprinter"] for r in attribution.view["reprints"]] == ["Demo Reprints"]
        tags = httpx.get(f"{base}/v2/{REPOSITORY}/tags/list").json()
        assert tags["tags"] == ["1.0.0", "prod"]
    # The seeding token is revoked once done.
    revoked = select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_not(None))
    assert _count(database_url, revoked) == 1
    assert _count(database_url, select(func.count()).select_from(ApiToken)) == 1

    # A second start does not seed again: still one version, one output.
    outputs = select(func.count()).select_from(HubOutput)
    assert _count(database_url, outputs) == 1
    with running_server(data_dir, database_url, {"CUSTODY_DEMO": "1"}) as base:
        log = _log_of(base, data_dir)
        deadline = time.monotonic() + START_DEADLINE_S
        while "demo: already seeded" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert f"{base}/ui/-/verify" in log.read_text()
        assert httpx.get(f"{base}/api/v1/models/{REPOSITORY}/versions/1.0.0").status_code == 200
    assert _count(database_url, outputs) == 1

    env = cli_env(data_dir, database_url)
    removed = subprocess.run(
        [CUSTODY, "demo", "remove"], env=env, capture_output=True, text=True, timeout=120
    )
    assert removed.returncode == 0, removed.stderr
    assert "removed namespace 'demo': 1 repositories (demo/tiny-add)" in removed.stdout
    assert "1 outputs, 1 reprints" in removed.stdout
    assert not (data_dir / "demo").exists()
    for table in (Namespace, Repository, Tag, HubOutput):
        assert _count(database_url, select(func.count()).select_from(table)) == 0
    # The blobs are left to the collector, which removes them (and their bytes).
    assert _count(database_url, select(func.count()).select_from(GcReview)) >= 3
    assert _count(database_url, select(func.count()).select_from(Blob)) >= 3
    collected = subprocess.run(
        [CUSTODY, "gc", "--now"], env=env, capture_output=True, text=True, timeout=120
    )
    assert collected.returncode == 0, collected.stderr
    assert _count(database_url, select(func.count()).select_from(Blob)) == 0
    assert not [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]

    again = subprocess.run(
        [CUSTODY, "demo", "remove"], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "nothing to remove: no namespace 'demo' and no demo files"
    # Removed stays removed: the audit trail remembers the demo, so no start seeds it again.
    settings = _settings(tmp_path, database_url)
    assert why_not(settings) is None
    assert prepare(settings) is None
    assert not (data_dir / "demo").exists()
    assert _count(database_url, select(func.count()).select_from(Namespace)) == 0


def _settings(tmp_path: Path, database_url: str, **parts: object) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    given: dict[str, object] = {"demo": DemoSettings(enabled=True), **parts}
    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=database_url),
        **given,  # type: ignore[arg-type]
    )


def test_off_unless_asked(tmp_path: Path, database_url: str) -> None:
    assert Settings.from_env({}).demo.enabled is False
    assert Settings.from_env({"CUSTODY_DEMO": "0"}).demo.enabled is False
    settings = _settings(tmp_path, database_url, demo=DemoSettings(enabled=False))
    assert why_not(settings) == "off (CUSTODY_DEMO is not set)"
    assert prepare(settings) is None
    assert not (settings.data_dir / "demo").exists()
    assert _count(database_url, select(func.count()).select_from(Namespace)) == 0


def test_not_seeded_on_a_registry_with_content(tmp_path: Path, database_url: str) -> None:
    issue(database_url, "acme")  # the operator's namespace
    settings = _settings(tmp_path, database_url)
    assert prepare(settings) is None
    assert not (settings.data_dir / "demo").exists()
    names = select(Namespace.name)
    engine = create_sync_engine(database_url)
    try:
        with engine.connect() as connection:
            assert list(connection.scalars(names)) == ["acme"]
    finally:
        engine.dispose()


def test_not_seeded_over_an_operators_policy(tmp_path: Path, database_url: str) -> None:
    trust = tmp_path / "trust.yaml"
    trust.write_text("version: 1\nnamespaces: []\n")
    settings = _settings(tmp_path, database_url, policies=PolicySettings(trust=trust))
    assert why_not(settings) == (
        "not seeded: CUSTODY_TRUST_POLICY set (the demo brings its own policies)"
    )
    assert prepare(settings) is None
    assert _count(database_url, select(func.count()).select_from(Namespace)) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_remove_on_an_empty_registry_says_so(tmp_path: Path, database_url: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    result = subprocess.run(
        [CUSTODY, "demo", "remove"],
        env=cli_env(data_dir, database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to remove" in result.stdout


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_failure_to_seed_is_one_line_and_the_server_runs(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "demo").write_text("in the way\n")  # the demo's directory cannot be made
    with running_server(data_dir, database_url, {"CUSTODY_DEMO": "1"}) as base:
        assert httpx.get(f"{base}/healthz").status_code == 200
        lines = [
            line for line in _log_of(base, data_dir).read_text().splitlines() if "demo:" in line
        ]
        assert len(lines) == 1, lines
        assert "demo: not seeded, the server carries on: FileExistsError" in lines[0]
        assert "Traceback" not in _log_of(base, data_dir).read_text()
    assert _count(database_url, select(func.count()).select_from(Namespace)) == 0
