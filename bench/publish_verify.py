"""The registry's signature verification, and ``custody publish`` end to end.

1. ``verify``: a version of 1,000 files; each run attaches a bundle signed by
   another trusted key and times the registry's work for it (the referrer PUT:
   parse, read the bundle, verify the signature under the trust policy, compare
   the 1,000 signed digests with the layers, store the verdict, audit). The
   reference, in the same run, is ``custody verify``'s code path in-process
   (``verifier.verify_model``) over the same bundle and files. Target: ratio
   <= 1.2 (the registry adds little).
2. ``publish``: ``custody publish`` of a generated 2 GiB model (hash once, sign,
   push, attach) as a ratio to hashlib sha256 over the same bytes (target >= 0.5),
   and to a plain write+fsync of the same bytes (the server writes every byte
   durably, so the disk is the ceiling).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench._server import CUSTODY, custody_server
from bench.push_pull import GIB, _durable_copy_seconds, _hashlib_seconds, _make_model, _timed
from signing.keys import load_public_key, write_key_pair
from signing.sign import sign_model
from signing.signers import KeySigner
from verifier.model import verify_model
from verifier.trust import TrustedKey

SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"{}").hexdigest()


def _model_of_many_files(root: Path, count: int, size: int) -> None:
    for index in range(count):
        path = root / "parts" / f"part-{index:04d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size // 2).hex().encode())


def _verify_bench(root: Path, files: int, runs: int) -> dict[str, object]:
    model = root / "model"
    _model_of_many_files(model, files, 4096)
    keys = root / "keys"
    keys.mkdir()
    names = [f"engineer-{i}" for i in range(runs)]
    for name in names:
        write_key_pair(keys / name, "ed25519", None)
    signers = "".join(f"      - {{name: {n}, public_key: keys/{n}.pub}}\n" for n in names)
    trust = root / "trust.yaml"
    trust.write_text(f'version: 1\nnamespaces:\n  - match: "bench/*"\n    signers:\n{signers}')
    rows = []
    with custody_server(root, {"CUSTODY_TRUST_POLICY": str(trust)}) as server:
        token = server.token("bench", "pull,push")
        env = dict(os.environ, CUSTODY_REGISTRY=server.url, CUSTODY_TOKEN=token)
        _timed([CUSTODY, "push", str(model), "bench/many:1.0.0", "--json"], env)
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=120) as http:
            subject = http.get(
                "/v2/bench/many/manifests/1.0.0",
                headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            )
            descriptor = {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": subject.headers["docker-content-digest"],
                "size": len(subject.content),
            }
            empty = http.post(f"/v2/bench/many/blobs/uploads/?digest={EMPTY_DIGEST}", content=b"{}")
            empty.raise_for_status()
            for name in names:
                bundle = sign_model(model, KeySigner.from_pem_file(keys / name)).bundle.to_bytes()
                digest = "sha256:" + hashlib.sha256(bundle).hexdigest()
                http.post(
                    f"/v2/bench/many/blobs/uploads/?digest={digest}", content=bundle
                ).raise_for_status()
                referrer = json.dumps(
                    {
                        "schemaVersion": 2,
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "artifactType": SIGSTORE_BUNDLE,
                        "config": {
                            "mediaType": "application/vnd.oci.empty.v1+json",
                            "digest": EMPTY_DIGEST,
                            "size": 2,
                        },
                        "layers": [
                            {"mediaType": SIGSTORE_BUNDLE, "digest": digest, "size": len(bundle)}
                        ],
                        "subject": descriptor,
                    }
                ).encode()
                ref_digest = "sha256:" + hashlib.sha256(referrer).hexdigest()
                start = time.perf_counter()
                http.put(
                    f"/v2/bench/many/manifests/{ref_digest}",
                    content=referrer,
                    headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
                ).raise_for_status()
                registry_s = time.perf_counter() - start
                trusted = TrustedKey(load_public_key((keys / f"{name}.pub").read_bytes()))
                start = time.perf_counter()
                verify_model(model, bundle, trusted)
                offline_s = time.perf_counter() - start
                rows.append(
                    {
                        "registry_ms": round(registry_s * 1000, 1),
                        "offline_verify_ms": round(offline_s * 1000, 1),
                        "ratio": round(registry_s / offline_s, 3),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
            view = http.get("/api/v1/models/bench/many/versions/1.0.0").json()
            outcomes = {s["outcome"] for s in view["signatures"]}
            if outcomes != {"verified"}:
                raise RuntimeError(f"the registry did not verify every bundle: {outcomes}")
    return {
        "files": files,
        "runs": rows,
        "median_registry_ms": statistics.median(r["registry_ms"] for r in rows),
        "median_offline_ms": statistics.median(r["offline_verify_ms"] for r in rows),
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "target_ratio": "<= 1.2",
    }


def _publish_bench(root: Path, size_gib: float, runs: int) -> dict[str, object]:
    size = int(size_gib * GIB)
    model = root / "big"
    _make_model(model, size)
    total = sum(p.stat().st_size for p in model.rglob("*") if p.is_file())
    write_key_pair(root / "release", "ed25519", None)
    rows = []
    with custody_server(root) as server:
        token = server.token("bench", "pull,push")
        env = dict(os.environ, CUSTODY_REGISTRY=server.url, CUSTODY_TOKEN=token)
        for run in range(runs):
            reference = _hashlib_seconds(model)
            # Every byte is written durably by the server: the disk's own ceiling, same run.
            disk = _durable_copy_seconds(model, root)
            seconds, rss = _timed(
                [
                    CUSTODY, "publish", str(model), f"bench/pub-{run}:1.0.0",
                    "--key", str(root / "release"), "--json",
                ],
                env,
            )  # fmt: skip
            shutil.rmtree(server.workdir / "data" / "blobs" / "sha256", ignore_errors=True)
            (server.workdir / "data" / "blobs" / "sha256").mkdir()
            rows.append(
                {
                    "hashlib_gbps": round(total / reference / 1e9, 3),
                    "publish_gbps": round(total / seconds / 1e9, 3),
                    "durable_copy_gbps": round(total / disk / 1e9, 3),
                    "ratio_to_hashlib": round(reference / seconds, 3),
                    "ratio_to_durable_copy": round(disk / seconds, 3),
                    "client_peak_rss_mb": round(rss, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return {"size_gib": size_gib, "runs": rows, "target_ratio": ">= 0.5"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench publish")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--signatures", type=int, default=7)
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", choices=["verify", "publish"])
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="custody-publish-bench-", dir=args.dir))
    result: dict[str, object] = {"benchmark": "registry verification and custody publish"}
    try:
        if args.only in (None, "verify"):
            result["verify"] = _verify_bench(root / "v", args.files, args.signatures)
        if args.only in (None, "publish"):
            result["publish"] = _publish_bench(root / "p", args.size_gib, args.runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0
