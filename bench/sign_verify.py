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

Each round runs the reference and the candidates back to back, ratios are
taken per round and the median over ``--repeat`` rounds is reported: the
machines are shared and noisy, so paired ratios are more telling than absolute
speeds. The load average is printed before and after; a busy machine makes the
two-core figures meaningless. The model is written to a temporary directory
and deleted afterwards.

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


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


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
    # The child's stderr goes to a file, not a pipe: a pipe nobody reads while polling
    # would block a chatty child, and the context manager closes what it opened.
    with tempfile.TemporaryFile() as errors:
        with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors) as process:
            peak = 0
            while process.poll() is None:
                peak = max(peak, _peak_rss(process.pid))
                time.sleep(0.005)
        elapsed = time.perf_counter() - start
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}): {stderr}")
    return elapsed, peak


def _gbps(total: int, seconds: float) -> float:
    return total / seconds / 1e9


def _load() -> float:
    return os.getloadavg()[0]


class _Rounds:
    """Each round measures the reference and the candidates back to back; ratios are taken
    per round and the median reported, so a load change between rounds cancels out."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat

    def ratios(
        self, reference: Callable[[], float], candidates: dict[str, Callable[[], float]]
    ) -> tuple[float, dict[str, tuple[float, float]]]:
        """Median reference time, and per candidate (median time, median reference/time)."""
        ref_times: list[float] = []
        times: dict[str, list[float]] = {k: [] for k in candidates}
        ratios: dict[str, list[float]] = {k: [] for k in candidates}
        for _ in range(self.repeat):
            ref = reference()
            ref_times.append(ref)
            for name, run in candidates.items():
                took = run()
                times[name].append(took)
                ratios[name].append(ref / took)
        return statistics.median(ref_times), {
            k: (statistics.median(times[k]), statistics.median(ratios[k])) for k in candidates
        }


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
    rounds = _Rounds(repeat)

    # (a) the engine through the Python API, against hashlib on one core.
    modes = {
        "files/sha256 (default)": Serialization.files(),
        f"shards/sha256 ({shard // MIB} MiB)": Serialization.shards(shard),
        "files/blake3": Serialization.files("blake3"),
    }
    candidates: dict[str, Callable[[], float]] = {}
    for index, (label, serialization) in enumerate(modes.items()):
        signature = work / f"api-{index}.sig"

        def sign(ser: Serialization = serialization, sig: Path = signature) -> float:
            return _timed(
                lambda: sign_model(model, signer, serialization=ser, output=sig, options=options)
            )

        def verify(sig: Path = signature) -> float:
            return _timed(lambda: verify_model(model, sig, trusted, options=options))

        candidates[f"{label}|sign"] = sign
        candidates[f"{label}|verify"] = verify
    reference, results = rounds.ratios(lambda: _timed(lambda: _hashlib_one_core(model)), candidates)
    print(f"hashlib sha256, one core: {_gbps(total, reference):.2f} GB/s (median)")
    api: dict[str, dict[str, float]] = {}
    for label in modes:
        (sign_t, sign_r), (verify_t, verify_r) = (
            results[f"{label}|sign"],
            results[f"{label}|verify"],
        )
        api[label] = {
            "sign_gbps": _gbps(total, sign_t),
            "sign_vs_hashlib": sign_r,
            "verify_gbps": _gbps(total, verify_t),
            "verify_vs_hashlib": verify_r,
        }
        print(
            f"custody API {label:26s} sign {_gbps(total, sign_t):.2f} GB/s ({sign_r:.2f}x hashlib)"
            f"  verify {_gbps(total, verify_t):.2f} GB/s ({verify_r:.2f}x hashlib)"
        )

    # (b) the command lines, custody against model_signing, and (c) their peak memory.
    ms_sig, cu_sig = work / "ms.sig", work / "cu.sig"
    ms_sign_argv = [MODEL_SIGNING, "sign", "key", "--private_key", str(key_path)]
    ms_sign_argv += ["--signature", str(ms_sig), str(model)]
    ms_verify_argv = [MODEL_SIGNING, "verify", "key", "--public_key", str(pub_path)]
    ms_verify_argv += ["--signature", str(ms_sig), str(model)]
    cu_verify_argv = [CUSTODY, "verify", str(model), "--signature", str(cu_sig)]
    cu_verify_argv += ["--public-key", str(pub_path)]
    peaks: dict[str, int] = {}

    def run(name: str, argv: list[str]) -> float:
        took, peak = _run(argv)
        peaks[name] = max(peaks.get(name, 0), peak)
        return took

    cli: dict[str, dict[str, float]] = {}
    for label, extra in (
        ("files/sha256 (default)", []),
        (f"shards/sha256 ({shard // MIB} MiB)", ["--shard-size", str(shard)]),
    ):
        cu_sign_argv = [CUSTODY, "sign", str(model), "--key", str(key_path)]
        cu_sign_argv += ["--output", str(cu_sig), *extra]
        _, signs = rounds.ratios(
            lambda: run("ms sign", ms_sign_argv), {"sign": lambda a=cu_sign_argv: run("sign", a)}
        )
        _, verifies = rounds.ratios(
            lambda: run("ms verify", ms_verify_argv),
            {"verify": lambda: run("verify", cu_verify_argv)},
        )
        (sign_t, sign_r), (verify_t, verify_r) = signs["sign"], verifies["verify"]
        cli[label] = {
            "custody_sign_s": sign_t,
            "custody_verify_s": verify_t,
            "model_signing_sign_over_custody": sign_r,
            "model_signing_verify_over_custody": verify_r,
            "sign_peak_rss_mib": peaks["sign"] / MIB,
            "verify_peak_rss_mib": peaks["verify"] / MIB,
        }
        print(
            f"CLI {label:26s} model_signing/custody time: sign {sign_r:.2f}x "
            f"(custody {sign_t:.2f}s), verify {verify_r:.2f}x (custody {verify_t:.2f}s); "
            f"custody peak RSS sign {peaks['sign'] / MIB:.0f} MiB, "
            f"verify {peaks['verify'] / MIB:.0f} MiB"
        )
    print(
        f"model_signing peak RSS: sign {peaks['ms sign'] / MIB:.0f} MiB, "
        f"verify {peaks['ms verify'] / MIB:.0f} MiB"
    )
    out.update(
        {
            "bytes": total,
            "hashlib_one_core_gbps": _gbps(total, reference),
            "api": api,
            "cli": cli,
            "model_signing_peak_rss_mib": {
                "sign": peaks["ms sign"] / MIB,
                "verify": peaks["ms verify"] / MIB,
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
    results: dict[str, object] = {"load_before": _load()}
    if _load() > 0.5:
        print(f"warning: load average {_load():.2f}: other work shares the cores")
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
    results["load_after"] = _load()
    print(f"load average before {results['load_before']:.2f}, after {results['load_after']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
