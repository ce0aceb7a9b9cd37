"""Crash soak: concurrent pushes, ``SIGKILL`` at a random moment, restart, check every promise.

Each round starts ``custody serve`` on one data directory and database (the
same across rounds) and runs ``--ops`` concurrent operations, started over two
seconds: monolithic blob uploads streamed at random paces, chunked uploads with
pauses between chunks, and manifest pushes (config + a safetensors layer + the
manifest, so the push-time checks run). It kills the server with ``SIGKILL`` at
a random moment of that traffic (a random 0-200 ms after a random number of the
operations have finished), restarts it and checks, for this round and every
earlier one:

* every acknowledged blob (its request got 201) is served with its digest and size;
* every acknowledged manifest is served by tag and by digest, byte for byte;
* a blob whose upload was interrupted is either absent or complete (never partial);
* the database and the blob store agree
  (``custody fsck --verify-digests``: :func:`registry.cli.fsck.run_fsck`).

Orphan files of interrupted, unacknowledged uploads are expected (garbage
collection is later work) and counted apart from inconsistencies. Prints one
line per round and a JSON summary; exits 1 if any promise broke.

    python -m bench crash --rounds 20 --ops 50 [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench._server import free_port, wait_healthy

CUSTODY = str(Path(sys.executable).with_name("custody"))
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
WEIGHTS = "application/vnd.cncf.model.weight.v1.raw"
_PIECE = 64 * 1024
_SPREAD = 2.0  # seconds over which a round's operations start


@dataclass
class Ledger:
    """What the server acknowledged, and what was attempted, across rounds."""

    blobs: dict[tuple[str, str], int] = field(default_factory=dict)  # (repo, digest) -> size
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)
    attempted: dict[tuple[str, str], int] = field(default_factory=dict)
    interrupted: int = 0
    finished: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)

    def done(self) -> None:
        with self.lock:
            self.finished += 1
            self.lock.notify_all()

    def wait_finished(self, count: int, timeout: float) -> None:
        with self.lock:
            self.lock.wait_for(lambda: self.finished >= count, timeout)

    def attempt(self, repo: str, digest: str, size: int) -> None:
        with self.lock:
            self.attempted[(repo, digest)] = size

    def blob(self, repo: str, digest: str, size: int) -> None:
        with self.lock:
            self.blobs[(repo, digest)] = size

    def manifest(self, repo: str, tag: str, digest: str, body: bytes) -> None:
        with self.lock:
            self.manifests[(repo, tag)] = (digest, body)


@dataclass
class RoundResult:
    round: int
    acknowledged: int  # blobs + manifests acknowledged so far (all rounds)
    verified: int
    interrupted: int  # operations cut off by the kill in this round
    orphans: dict[str, int]
    inconsistencies: list[str]

    def line(self) -> str:
        leftovers = ", ".join(f"{k} {v}" for k, v in self.orphans.items())
        return (
            f"round {self.round}: acknowledged {self.acknowledged}, verified {self.verified}, "
            f"interrupted {self.interrupted}, {leftovers}, "
            f"inconsistencies {len(self.inconsistencies)}"
        )


class ServerProcess:
    """``custody serve`` on a data directory and database, killable at will."""

    def __init__(
        self, data_dir: Path, database_url: str, extra_env: Mapping[str, str] | None = None
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)  # as `custody db upgrade` leaves it
        self.env = dict(os.environ, CUSTODY_DATA_DIR=str(data_dir))
        self.env["CUSTODY_DATABASE_URL"] = database_url
        self.env.update(extra_env or {})
        self.log = data_dir.parent / "crash-soak-server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> str:
        port = free_port()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [CUSTODY, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{port}"
        wait_healthy(self.base, 60)
        return self.base

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def token(self) -> str:
        return subprocess.run(
            [CUSTODY, "token", "create", "--namespace", "acme", "--scopes", "pull,push,admin"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _pieces(data: bytes, pause: float = 0.0) -> Iterator[bytes]:
    for start in range(0, len(data), _PIECE):
        yield data[start : start + _PIECE]
        if pause:
            time.sleep(pause)


def _monolithic(
    client: httpx.Client, ledger: Ledger, repo: str, data: bytes, pause: float = 0.0
) -> str:
    digest = _digest(data)
    ledger.attempt(repo, digest, len(data))
    response = client.post(
        f"/v2/{repo}/blobs/uploads/?digest={digest}",
        content=_pieces(data, pause),
        headers={"Content-Length": str(len(data))},
    )
    if response.status_code != 201:
        raise RuntimeError(f"monolithic upload: {response.status_code} {response.text}")
    ledger.blob(repo, digest, len(data))
    return digest


def _chunked(
    client: httpx.Client, ledger: Ledger, repo: str, data: bytes, rng: random.Random
) -> None:
    digest = _digest(data)
    ledger.attempt(repo, digest, len(data))
    started = client.post(f"/v2/{repo}/blobs/uploads/")
    if started.status_code != 202:
        raise RuntimeError(f"upload start: {started.status_code} {started.text}")
    location = started.headers["Location"]
    cuts = sorted({0, len(data), *(rng.randrange(1, len(data)) for _ in range(rng.randint(1, 3)))})
    for start, end in itertools.pairwise(cuts):
        response = client.patch(
            location,
            content=data[start:end],
            headers={
                "Content-Range": f"{start}-{end - 1}",
                "Content-Type": "application/octet-stream",
            },
        )
        if response.status_code != 202:
            raise RuntimeError(f"upload chunk: {response.status_code} {response.text}")
        location = response.headers["Location"]
        time.sleep(rng.uniform(0.01, 0.1))
    closed = client.put(location, params={"digest": digest})
    if closed.status_code != 201:
        raise RuntimeError(f"upload close: {closed.status_code} {closed.text}")
    ledger.blob(repo, digest, len(data))


def _safetensors(rng: random.Random) -> bytes:
    size = rng.randint(1, 256) * 1024
    header = json.dumps({"w": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}})
    return len(header).to_bytes(8, "little") + header.encode() + rng.randbytes(size)


def model_manifest(config: tuple[str, int], layers: list[tuple[str, str, int]]) -> bytes:
    """An OCI image manifest: ``config`` is (digest, size), each layer (title, digest, size)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": config[0],
                "size": config[1],
            },
            "layers": [
                {
                    "mediaType": WEIGHTS,
                    "digest": digest,
                    "size": size,
                    "annotations": {"org.opencontainers.image.title": title},
                }
                for title, digest, size in layers
            ],
        }
    ).encode()


def _manifest(
    client: httpx.Client, ledger: Ledger, repo: str, tag: str, rng: random.Random
) -> None:
    config = json.dumps({"tag": tag, "salt": rng.random()}).encode()
    layer = _safetensors(rng)
    config_digest = _monolithic(client, ledger, repo, config)
    layer_digest = _monolithic(client, ledger, repo, layer)
    body = model_manifest(
        (config_digest, len(config)), [("weights.safetensors", layer_digest, len(layer))]
    )
    response = client.put(
        f"/v2/{repo}/manifests/{tag}", content=body, headers={"Content-Type": OCI_MANIFEST}
    )
    if response.status_code != 201:
        raise RuntimeError(f"manifest push: {response.status_code} {response.text}")
    ledger.manifest(repo, tag, response.headers["Docker-Content-Digest"], body)


def _operate(base: str, token: str, ledger: Ledger, round_no: int, index: int, seed: int) -> None:
    rng = random.Random(seed)
    repo = f"acme/crash-{index % 7}"
    kind = index % 3
    time.sleep(rng.uniform(0, _SPREAD))  # operations start staggered: every phase is live
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            if kind == 0:
                data = rng.randbytes(rng.randint(16, 4096) * 1024)
                _monolithic(client, ledger, repo, data, pause=rng.uniform(0, 0.05))
            elif kind == 1:
                _chunked(client, ledger, repo, rng.randbytes(rng.randint(16, 1024) * 1024), rng)
            else:
                _manifest(client, ledger, repo, f"{round_no}.{index}.0", rng)
    except (httpx.TransportError, RuntimeError, KeyError):
        with ledger.lock:
            ledger.interrupted += 1
    finally:
        ledger.done()


def _verify(base: str, token: str, ledger: Ledger) -> tuple[int, list[str]]:
    problems: list[str] = []
    verified = 0
    headers = {"Authorization": f"Bearer {token}", "Accept": OCI_MANIFEST}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for (repo, digest), size in sorted(ledger.attempted.items()):
            response = client.get(f"/v2/{repo}/blobs/{digest}")
            acknowledged = (repo, digest) in ledger.blobs
            if response.status_code == 200:
                if _digest(response.content) != digest or len(response.content) != size:
                    problems.append(f"blob {repo}@{digest} is served with other bytes")
                elif acknowledged:
                    verified += 1
            elif acknowledged or response.status_code != 404:
                problems.append(f"blob {repo}@{digest}: {response.status_code} after restart")
        for (repo, tag), (digest, body) in sorted(ledger.manifests.items()):
            by_tag = client.get(f"/v2/{repo}/manifests/{tag}")
            by_digest = client.get(f"/v2/{repo}/manifests/{digest}")
            if (
                by_tag.status_code == 200
                and by_tag.content == body
                and by_digest.content == body
                and by_tag.headers.get("Docker-Content-Digest") == digest == _digest(body)
            ):
                verified += 1
            else:
                problems.append(f"manifest {repo}:{tag} is not served as acknowledged")
    return verified, problems


def _consistency(env: Mapping[str, str]) -> tuple[dict[str, int], list[str]]:
    """``custody fsck --verify-digests`` on the database and blob store the server ran on."""
    from registry.cli.fsck import run_fsck
    from registry.settings import Settings

    report = asyncio.run(run_fsck(Settings.from_env(env), verify_digests=True))
    # Orphans of unacknowledged uploads are leftovers here, not broken promises.
    return report.checked.leftovers, report.checked.inconsistencies


def run_rounds(
    data_dir: Path,
    database_url: str,
    *,
    rounds: int,
    ops: int = 50,
    seed: int = 0,
    report: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> list[RoundResult]:
    """Run ``rounds`` crash rounds on one data directory and (migrated) database.

    ``extra_env`` adds settings for the server, e.g. ``CUSTODY_STORAGE=s3://...``
    and its ``CUSTODY_S3_*`` settings to crash it on an object store.

    The kill comes a random 0-200 ms after a random number of the round's
    operations (1 to ``ops - 1``) have finished: mid-traffic, however fast or
    loaded the machine is.
    """
    rng = random.Random(seed)
    server = ServerProcess(data_dir, database_url, extra_env)
    token = server.token()
    ledger = Ledger()
    results: list[RoundResult] = []
    for round_no in range(1, rounds + 1):
        base = server.start()
        before = ledger.interrupted
        ledger.finished = 0
        with ThreadPoolExecutor(max_workers=ops) as pool:
            futures = [
                pool.submit(_operate, base, token, ledger, round_no, i, rng.getrandbits(32))
                for i in range(ops)
            ]
            ledger.wait_finished(rng.randint(1, max(ops - 1, 1)), timeout=300)
            time.sleep(rng.uniform(0, 0.2))
            server.kill()
            for future in futures:
                future.result()
        server.start()
        try:
            verified, problems = _verify(server.base, token, ledger)
        finally:
            server.stop()
        leftovers, inconsistencies = _consistency(server.env)
        result = RoundResult(
            round=round_no,
            acknowledged=len(ledger.blobs) + len(ledger.manifests),
            verified=verified,
            interrupted=ledger.interrupted - before,
            orphans=leftovers,
            inconsistencies=problems + inconsistencies,
        )
        results.append(result)
        if report:
            print(result.line(), flush=True)
            for line in result.inconsistencies:
                print(f"  INCONSISTENT: {line}", flush=True)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench crash", description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--ops", type=int, default=50)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--database-url", default="", help="migrated; default: a new SQLite")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="custody-crash-") as scratch:
        data_dir = Path(scratch) / "data"
        url = args.database_url
        if not url:
            url = f"sqlite:///{Path(scratch) / 'custody.db'}"
            env = dict(os.environ, CUSTODY_DATA_DIR=str(data_dir), CUSTODY_DATABASE_URL=url)
            subprocess.run([CUSTODY, "db", "upgrade"], env=env, check=True, capture_output=True)
        print(f"crash soak: {args.rounds} rounds x {args.ops} operations, seed {args.seed}")
        results = run_rounds(
            data_dir,
            url,
            rounds=args.rounds,
            ops=args.ops,
            seed=args.seed,
            report=True,
        )
    last = results[-1]
    summary = {
        "rounds": len(results),
        "acknowledged": last.acknowledged,
        "verified": last.verified,
        "interrupted": sum(r.interrupted for r in results),
        "orphans": last.orphans,
        "inconsistencies": sum(len(r.inconsistencies) for r in results),
    }
    print(json.dumps(summary, indent=2))
    return 1 if summary["inconsistencies"] else 0
