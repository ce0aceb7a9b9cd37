"""``make run-cluster`` (scripts/run_cluster.py), briefly: start, use both replicas, stop.

The script runs as the Makefile runs it, on free ports, a fresh directory and a
database of its own (which it creates). Both replicas become ready; what is pushed
on one is pulled from the other over HTTP; Ctrl-C (SIGINT) stops everything it
started, and it exits 0 with no process left behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import _postgres_admin_url, _postgres_reachable
from tests.support.live import CUSTODY, cli_env, free_port
from tests.support.oci_client import Oci
from tests.support.registry_helpers import bearer, safetensors_bytes, sha256_digest
from tests.support.seaweedfs import weed_binary

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_cluster.py"
READY_SECONDS = 180.0


@pytest.fixture
def database_url() -> Iterator[str]:
    admin = _postgres_admin_url()
    problem = _postgres_reachable(admin)
    if problem is not None:
        pytest.skip(f"PostgreSQL is unreachable ({problem})")
    if weed_binary() is None:
        pytest.skip("SeaweedFS's `weed` is not installed")
    url = make_url(admin).set(database=f"custody_cluster_{uuid.uuid4().hex[:12]}")
    yield url.render_as_string(hide_password=False)
    parsed = make_url(admin)
    with psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        autocommit=True,
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')  # type: ignore[arg-type]


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_run_cluster_starts_serves_from_both_replicas_and_stops_cleanly(
    database_url: str, tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    directory = tmp_path / "cluster"
    output = tmp_path / "run-cluster.out"
    with output.open("wb") as sink:
        script = subprocess.Popen(
            [
                sys.executable,
                str(SCRIPT),
                "--dir",
                str(directory),
                "--ports",
                ",".join(map(str, ports)),
                "--weed-port-base",
                "0",
                "--database-url",
                database_url,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not all(_ready(base) for base in bases):
            assert script.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.5)
        started = psutil.Process(script.pid).children(recursive=True)
        assert len(started) == 3, started  # weed and two replicas

        token = subprocess.run(
            [CUSTODY, "token", "create", "--namespace", "acme", "--scopes", "pull,push"],
            env=cli_env(directory / "data", database_url),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        weights = safetensors_bytes(b"w" * 64)
        with (
            httpx.Client(base_url=bases[0], timeout=60) as a,
            httpx.Client(base_url=bases[1], timeout=60) as b,
        ):
            oci = Oci(a, bearer(token), name="acme/clustered")  # type: ignore[arg-type]
            manifest = oci.manifest([weights], titles=["model.safetensors"])
            assert oci.put_manifest("1.0.0", manifest).status_code == 201
            pulled = b.get("/v2/acme/clustered/manifests/1.0.0", headers=bearer(token))
            assert pulled.status_code == 200
            assert pulled.content == manifest
            layer = json.loads(pulled.content)["layers"][0]["digest"]
            blob = b.get(f"/v2/acme/clustered/blobs/{layer}", headers=bearer(token))
            assert blob.status_code == 200
            assert sha256_digest(blob.content) == layer == sha256_digest(weights)

        script.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert script.wait(60) == 0, output.read_text()
        _, alive = psutil.wait_procs(started, timeout=5)
        assert alive == []
        assert not any(_ready(base) for base in bases)
        text = output.read_text()
        assert "run-cluster: ready:" in text
        assert "run-cluster: stopped" in text
        assert "created database" in text
    finally:
        if script.poll() is None:
            script.kill()
            script.wait()
        for child in started:
            if child.is_running():
                child.kill()
