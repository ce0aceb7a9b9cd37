"""Sign and verify a generated model directory (one large safetensors file plus small files).

Reports, in the same run and over the same bytes (page cache warm):

  (a) throughput of Custody's sign and verify as a ratio to hashlib sha256 on
      one core (target >= 1.6 on two cores), for the default serialisation
      (whole files, sha256), for sharded sha256 and for blake3;
  (b) wall time of ``model_signing sign key`` / ``verify key`` divided by that
      of ``custody sign`` / ``custody verify`` (target >= 1.2), both run as
      their command lines in a subprocess, as users run them;
  (c) the peak resident memory of ``custody sign`` / ``verify`` at two model
      sizes (it must stay flat as the model grows).

Every figure is the median of ``--repeat`` runs; the machines are shared and
noisy, so ratios are more telling than absolute speeds. The model is written
to a temporary directory and deleted afterwards.

    python -m bench sign [--size-gib 2] [--repeat 3] [--shard-mib 64]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from signing.hashing import HashOptions
from signing.keys import generate_private_key, private_key_pem, public_key_pem
from signing.manifest import Serialization
from signing.sign import sign_model
from signing.signers import KeySigner
from verifier.model import verify_model
from verifier.trust import TrustedKey

BIN = Path(sys.executable).parent
CUSTODY = str(BIN / "custody")
MODEL_SIGNING = str(BIN / "model_signing")
MIB = 1024 * 1024
GIB = 1024 * MIB
SMALL_FILES = {
    "config.json": 2_048,
    "generation_config.json": 512,
    "tokenizer.json": 2 * MIB,
    "tokenizer_config.json": 4_096,
    "special_tokens_map.json": 1_024,
    "README.md": 8_192,
    "onnx/model.onnx": 6 * MIB,
    "onnx/model.onnx_data.index": 16_384,
}


def _write_model(root: Path, total: int) -> int:
    """One large safetensors file and small files; returns the byte count."""
    block = os.urandom(16 * MIB)
    small_total = 0
    for name, size in SMALL_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        small_total += size
    large = max(total - small_total, 16 * MIB)
    header = json.dumps({"__metadata__": {"format": "pt"}}).encode()
    with (root / "model.safetensors").open("wb") as handle:
        handle.write(len(header).to_bytes(8, "little") + header)
        written = 8 + len(header)
        counter = 0
        while written < large:
            chunk = block[: min(len(block), large - written)]
            # Vary each block so no two are equal (irrelevant to hashing speed).
            handle.write(counter.to_bytes(8, "little") + chunk[8:])
            written += len(chunk)
            counter += 1
    return small_total + written


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _warm(root: Path) -> None:
    buffer = bytearray(4 * MIB)
    for path in _files(root):
        with path.open("rb", buffering=0) as handle:
            while handle.readinto(buffer):
                pass


def _hashlib_one_core(root: Path) -> None:
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    for path in _files(root):
        hasher = hashlib.sha256()
        with path.open("rb", buffering=0) as handle:
            while n := handle.readinto(buffer):
                hasher.update(view[:n])
        hasher.digest()


def _median(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_rss(pid: int) -> int:
    """The process's high-water resident set (VmHWM), or 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:  # noqa: PTH123 - procfs
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _run(argv: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one subprocess.

    ``ru_maxrss`` of a child includes the forking parent's size, so the peak is
    read from ``/proc/<pid>/status`` (VmHWM belongs to the exec'd image) every
    few milliseconds until the process ends.
    """
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _peak_rss(process.pid))
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}): {stderr}")
    return elapsed, peak


def _median_run(repeat: int, argv: list[str]) -> tuple[float, int]:
    results = [_run(argv) for _ in range(repeat)]
    return statistics.median(t for t, _ in results), max(m for _, m in results)


def _gbps(total: int, seconds: float) -> float:
    return total / seconds / 1e9


def _measure(work: Path, size: int, repeat: int, shard: int, out: dict[str, object]) -> None:
    model = work / "model"
    model.mkdir()
    total = _write_model(model, size)
    _warm(model)
    key = generate_private_key("ecdsa-p256")
    key_path, pub_path = work / "key.pem", work / "key.pub"
    key_path.write_bytes(private_key_pem(key, None))
    pub_path.write_bytes(public_key_pem(key.public_key()))
    signer, trusted = KeySigner(key), TrustedKey(key.public_key())
    options = HashOptions()
    workers = options.worker_count()
    print(f"model: {total / GIB:.2f} GiB in {len(_files(model))} files; {workers} workers")

    reference = _median(repeat, lambda: _hashlib_one_core(model))
    print(f"hashlib sha256, one core: {_gbps(total, reference):.2f} GB/s")
    rows: dict[str, dict[str, float]] = {}
    modes = {
        "files/sha256 (default)": Serialization.files(),
        f"shards/sha256 ({shard // MIB} MiB)": Serialization.shards(shard),
        "files/blake3": Serialization.files("blake3"),
    }
    for label, serialization in modes.items():
        signature = work / f"api-{len(rows)}.sig"

        def sign(ser: Serialization = serialization, out: Path = signature) -> object:
            return sign_model(model, signer, serialization=ser, output=out, options=options)

        def verify(out: Path = signature) -> object:
            return verify_model(model, out, trusted, options=options)

        sign_time = _median(repeat, sign)
        verify_time = _median(repeat, verify)
        rows[label] = {
            "sign_gbps": _gbps(total, sign_time),
            "sign_vs_hashlib": reference / sign_time,
            "verify_gbps": _gbps(total, verify_time),
            "verify_vs_hashlib": reference / verify_time,
        }
        print(
            f"custody API {label:28s} sign {_gbps(total, sign_time):.2f} GB/s "
            f"({reference / sign_time:.2f}x hashlib)  verify {_gbps(total, verify_time):.2f} GB/s "
            f"({reference / verify_time:.2f}x hashlib)"
        )

    ms_sig, cu_sig = work / "ms.sig", work / "cu.sig"
    ms_sign, ms_sign_rss = _median_run(
        repeat,
        [
            MODEL_SIGNING,
            "sign",
            "key",
            "--private_key",
            str(key_path),
            "--signature",
            str(ms_sig),
            str(model),
        ],
    )
    ms_verify, ms_verify_rss = _median_run(
        repeat,
        [
            MODEL_SIGNING,
            "verify",
            "key",
            "--public_key",
            str(pub_path),
            "--signature",
            str(ms_sig),
            str(model),
        ],
    )
    cli: dict[str, dict[str, float]] = {}
    for label, extra in (
        ("files/sha256 (default)", []),
        ("shards/sha256", ["--shard-size", str(shard)]),
    ):
        cu_sign, cu_sign_rss = _median_run(
            repeat,
            [CUSTODY, "sign", str(model), "--key", str(key_path), "--output", str(cu_sig), *extra],
        )
        cu_verify, cu_verify_rss = _median_run(
            repeat,
            [
                CUSTODY,
                "verify",
                str(model),
                "--signature",
                str(cu_sig),
                "--public-key",
                str(pub_path),
            ],
        )
        cli[label] = {
            "sign_s": cu_sign,
            "verify_s": cu_verify,
            "model_signing_sign_over_custody": ms_sign / cu_sign,
            "model_signing_verify_over_custody": ms_verify / cu_verify,
            "sign_vs_hashlib": reference / cu_sign,
            "verify_vs_hashlib": reference / cu_verify,
            "sign_peak_rss_mib": cu_sign_rss / MIB,
            "verify_peak_rss_mib": cu_verify_rss / MIB,
        }
        print(
            f"CLI {label:24s} custody sign {cu_sign:.2f}s vs model_signing {ms_sign:.2f}s "
            f"= {ms_sign / cu_sign:.2f}x; verify {cu_verify:.2f}s vs {ms_verify:.2f}s "
            f"= {ms_verify / cu_verify:.2f}x; peak RSS sign {cu_sign_rss / MIB:.0f} MiB, "
            f"verify {cu_verify_rss / MIB:.0f} MiB"
        )
    print(
        f"model_signing peak RSS: sign {ms_sign_rss / MIB:.0f} MiB, "
        f"verify {ms_verify_rss / MIB:.0f} MiB"
    )
    out.update(
        {
            "bytes": total,
            "hashlib_one_core_gbps": _gbps(total, reference),
            "api": rows,
            "cli": cli,
            "model_signing": {
                "sign_s": ms_sign,
                "verify_s": ms_verify,
                "sign_peak_rss_mib": ms_sign_rss / MIB,
                "verify_peak_rss_mib": ms_verify_rss / MIB,
            },
        }
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench sign", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--size-gib", type=float, default=2.0, help="model size (default 2 GiB)")
    parser.add_argument(
        "--small-gib", type=float, default=0.5, help="second, smaller model for the memory check"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shard-mib", type=int, default=64)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    results: dict[str, object] = {}
    for label, size in (("small", args.small_gib), ("large", args.size_gib)):
        if size <= 0:
            continue
        work = Path(tempfile.mkdtemp(prefix="custody-bench-"))
        try:
            print(f"--- {label} model ---")
            figures: dict[str, object] = {}
            _measure(work, int(size * GIB), args.repeat, args.shard_mib * MIB, figures)
            results[label] = figures
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
