"""Edge agent updates: bytes downloaded after one of ten files changed, and a no-op refresh.

Starts ``custody serve`` with its TUF repository (``custody tuf init``), publishes
version 1.0.0 of a model of ten files (signed OMS bundle as a referrer), points
``production`` at it and lets the agent pull it. Then 1.1.0 changes one file and
the agent pulls again:

* bytes downloaded / size of the changed file (target <= 1.05);
* TUF refresh with nothing new, median over many runs: the agent's own refresh
  and alias lookup (a staged copy of its trusted metadata, ngclient refresh,
  lookups) against the reference measured in the same run, a bare python-tuf
  ``Updater`` doing the same refresh and lookup (target < 50 ms on loopback); and
  the whole unchanged ``pull`` (which also writes the state durably).

    python -m bench agent-update [--file-mb 20] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tuf.ngclient.updater import Updater

from bench._server import CUSTODY, free_port, wait_healthy
from signing import KeySigner, generate_private_key, sign_model
from signing.keys import public_key_pem
from signing.media_types import OCI_MANIFEST
from signing.oms import BUNDLE_MEDIA_TYPE
from verifier.agent import Agent, AgentConfig
from verifier.agent.fetchers import RegistryFetcher
from verifier.clients.publish import push_model
from verifier.clients.push import PushClient
from verifier.clients.registry import sha256_digest
from verifier.trust_policy_file import parse_trust_policy

_REPOSITORY = "acme/bench"


def _publish(
    client: PushClient, work: Path, files: dict[str, bytes], version: str, key: object
) -> None:
    source = work / f"src-{version}"
    source.mkdir()
    for name, data in files.items():
        (source / name).write_bytes(data)
    push_model(client, source, _REPOSITORY, version)
    fetched = client.get_manifest(_REPOSITORY, version)
    bundle = sign_model(source, KeySigner(key)).bundle.to_bytes()  # type: ignore[arg-type]
    for blob in (b"{}", bundle):
        path = work / f"blob-{sha256_digest(blob)[7:]}"
        path.write_bytes(blob)
        client.upload_blob(_REPOSITORY, path, sha256_digest(blob), len(blob))
    referrer = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": BUNDLE_MEDIA_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": sha256_digest(b"{}"),
            "size": 2,
        },
        "layers": [
            {"mediaType": BUNDLE_MEDIA_TYPE, "digest": sha256_digest(bundle), "size": len(bundle)}
        ],
        "subject": {"mediaType": OCI_MANIFEST, "digest": fetched.digest, "size": len(fetched.body)},
    }
    body = json.dumps(referrer).encode()
    client.put_manifest(_REPOSITORY, sha256_digest(body), body)
    client.api("PUT", f"/api/v1/models/{_REPOSITORY}/aliases/production", json={"version": version})


def _policy(key: object) -> str:
    pem = public_key_pem(key.public_key()).decode()  # type: ignore[attr-defined]
    body = "\n".join("          " + line for line in pem.strip().splitlines())
    return (
        "version: 1\nnamespaces:\n  - match: acme/*\n    threshold: 1\n    signers:\n"
        "      - name: release\n        public_key_pem: |\n" + body + "\n"
    )


def _bare_refresh(url: str, root: bytes, fetcher: RegistryFetcher, directory: Path) -> float:
    """The reference: python-tuf alone, same metadata, same lookup, warm local copy."""
    start = time.perf_counter()
    updater = Updater(str(directory), f"{url}/tuf/", fetcher=fetcher, bootstrap=root)
    updater.refresh()
    found = updater.get_targetinfo(f"{_REPOSITORY}/@alias/production")
    took = time.perf_counter() - start
    assert found is not None
    return took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench agent-update")
    parser.add_argument("--file-mb", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="custody-bench-agent-"))
    env = dict(os.environ, CUSTODY_DATA_DIR=str(work / "data"))
    env.pop("CUSTODY_DATABASE_URL", None)
    process = None
    try:
        subprocess.run([CUSTODY, "db", "upgrade"], env=env, check=True, capture_output=True)
        root_path = work / "root.json"
        subprocess.run(
            [CUSTODY, "tuf", "init", "--root-out", str(root_path)],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        token = subprocess.run(
            [CUSTODY, "token", "create", "--namespace", "*", "--scopes", "admin"],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        port = free_port()
        process = subprocess.Popen(
            [CUSTODY, "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, 120)
        key = generate_private_key("ed25519")
        size = int(args.file_mb * 1_000_000)
        files = {f"part-{i}.dat": os.urandom(size) for i in range(10)}
        with PushClient(url, token) as client:
            _publish(client, work, files, "1.0.0", key)
            agent = Agent(
                AgentConfig(
                    cache_dir=work / "cache",
                    trust_root=root_path.read_bytes(),
                    trust_policy=parse_trust_policy(_policy(key)),
                    registry=url,
                    token=token,
                )
            )
            first = agent.pull(_REPOSITORY, "production")
            changed = dict(files, **{"part-7.dat": os.urandom(size)})
            _publish(client, work, changed, "1.1.0", key)
            second = agent.pull(_REPOSITORY, "production")
        assert second.changed and second.version == "1.1.0"
        ratio = second.downloaded_bytes / size
        print(
            f"update after 1 of 10 files changed ({size / 1e6:.0f} MB each): first pull "
            f"{first.downloaded_bytes / 1e6:.0f} MB, update downloaded "
            f"{second.downloaded_bytes / 1e6:.2f} MB = {ratio:.3f}x the changed file "
            f"(target <= 1.05); reused {second.reused_bytes / 1e6:.0f} MB from the cache"
        )

        bare_dir = work / "bare"
        bare_dir.mkdir()
        fetcher = RegistryFetcher(url, token)  # one HTTP client, as the agent keeps one
        _bare_refresh(url, root_path.read_bytes(), fetcher, bare_dir)  # warm its local copy
        agent_times, bare_times, pull_times = [], [], []
        for _ in range(args.repeat):
            bare_times.append(_bare_refresh(url, root_path.read_bytes(), fetcher, bare_dir))
            start = time.perf_counter()
            with agent._signed_repository(local_only=False) as signed:
                signed.refresh()
                signed.target(f"{_REPOSITORY}/@alias/production", "alias")
            agent_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = agent.pull(_REPOSITORY, "production")
            pull_times.append(time.perf_counter() - start)
            assert not result.changed
        agent_ms = statistics.median(agent_times) * 1000
        bare_ms = statistics.median(bare_times) * 1000
        print(
            f"TUF refresh with nothing new ({args.repeat} runs, median): agent "
            f"{agent_ms:.1f} ms (target < 50 ms), bare python-tuf Updater {bare_ms:.1f} ms, "
            f"ratio {agent_ms / bare_ms:.2f}; whole unchanged pull (state fsynced) "
            f"{statistics.median(pull_times) * 1000:.1f} ms"
        )
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"load average at {time.strftime('%H:%M:%S')}: {' '.join(load)}")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0
