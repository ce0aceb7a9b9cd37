"""ML-BOM generation and BOM ingestion.

Reports, in the same run and over the same bytes (page cache warm):

  (a) ``generate_bom`` on a generated model (safetensors files with real
      headers of a few hundred tensors, plus small files) as a throughput
      ratio to hashlib sha256 of the same bytes on one core: target >= 0.9 on
      one core; more with parallel hashing when the model has several large
      files (sha256 of one file cannot be split, so one large file stays at
      one core). Layouts: one large file, and the same bytes in four files;
      each with one hashing thread and with the default (all CPUs).
  (b) ``validate_bom`` + ``bind_bom`` (+ ``index_bom``) on a ~5 MB SBOM: an
      ML-BOM of a model whose files are bound, plus thousands of library
      components made from a real BOM written by cargo-cyclonedx. Target
      < 1 s. Each installed schema backend is timed (jsonschema-rs; the
      pure-Python jsonschema fallback, which is far slower).

Rounds are paired (reference then candidate) and the median ratio reported.

    python -m bench sbom [--size-gib 2] [--repeat 3] [--bom-mib 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from signing.hashing import HashOptions
from signing.sbom import BomLimits, bind_bom, generate_bom, index_bom, validate_bom
from signing.sbom._schema import available_backends

MIB = 1024 * 1024
GIB = 1024 * MIB
REAL_BOM = Path(__file__).resolve().parents[1] / "tests/assets/sbom/real/ruff-0.17.6.cyclonedx.json"


def _write_safetensors(path: Path, size: int, tensors: int, block: bytes) -> int:
    """A safetensors file of about ``size`` bytes: ``tensors`` F16 tensors, random data."""
    per_tensor = max(2, (size // tensors) // 2 * 2)
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for index in range(tensors):
        header[f"model.layers.{index}.weight"] = {
            "dtype": "F16",
            "shape": [per_tensor // 2],
            "data_offsets": [offset, offset + per_tensor],
        }
        offset += per_tensor
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with path.open("wb") as handle:
        handle.write(len(encoded).to_bytes(8, "little") + encoded)
        remaining = offset
        while remaining:
            chunk = block[: min(len(block), remaining)]
            handle.write(chunk)
            remaining -= len(chunk)
    return 8 + len(encoded) + offset


def _write_model(root: Path, total: int, files: int) -> int:
    root.mkdir(parents=True)
    block = os.urandom(16 * MIB)
    written = 0
    for name, content in {
        "config.json": b'{"architectures": ["UNet"]}\n',
        "README.md": b"# bench model\n" * 200,
    }.items():
        (root / name).write_bytes(content)
        written += len(content)
    for index in range(files):
        written += _write_safetensors(
            root / f"model-{index + 1:05d}-of-{files:05d}.safetensors",
            total // files,
            max(1, 400 // files),
            block,
        )
    return written


def _hashlib_pass(root: Path) -> float:
    """Seconds for hashlib sha256 over every file, one thread, 4 MiB reads."""
    buffer = bytearray(4 * MIB)
    view = memoryview(buffer)
    start = time.perf_counter()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        hasher = hashlib.sha256()
        with path.open("rb", buffering=0) as handle:
            while count := handle.readinto(view):
                hasher.update(view[:count])
        hasher.hexdigest()
    return time.perf_counter() - start


def _generation(root: Path, size: int, repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    _hashlib_pass(root)  # warm the page cache
    for label, workers in (("1 thread", 1), ("default threads", None)):
        ratios = []
        seconds = []
        for _ in range(repeat):
            reference = _hashlib_pass(root)
            start = time.perf_counter()
            generate_bom(root, options=HashOptions(workers=workers))
            took = time.perf_counter() - start
            ratios.append(reference / took)
            seconds.append(took)
        results[label] = {
            "ratio_to_hashlib_1core": round(statistics.median(ratios), 3),
            "seconds": round(statistics.median(seconds), 3),
            "gb_per_s": round(size / statistics.median(seconds) / 1e9, 3),
        }
    return results


def _large_bom(target: int, model_root: Path) -> tuple[bytes, list[tuple[str, str]]]:
    """An ML-BOM of ``model_root`` padded with library components to about ``target`` bytes."""
    generated = generate_bom(model_root)
    document = json.loads(generated.to_bytes())
    real = json.loads(REAL_BOM.read_text())
    templates = [c for c in real.get("components", []) if isinstance(c, dict)]
    components = document.setdefault("components", [])
    base = len(generated.to_bytes())
    per = len(json.dumps(templates[0])) if templates else 1000
    count = 0
    while base + count * per < target:
        template = copy.deepcopy(templates[count % len(templates)])
        suffix = f"-{count}"
        template["bom-ref"] = str(template.get("bom-ref", template["name"])) + suffix
        template["name"] = str(template["name"]) + suffix
        template.pop("components", None)
        components.append(template)
        count += 1
    data = json.dumps(document, indent=1).encode()
    return data, list(generated.files.items())


def _ingestion(data: bytes, files: list[tuple[str, str]], repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {"bom_mb": round(len(data) / 1e6, 2)}
    limits = BomLimits(max_bytes=max(len(data), BomLimits().max_bytes))
    for backend in available_backends():
        rounds = repeat if backend == "jsonschema-rs" else 1
        timings = []
        for _ in range(rounds):
            start = time.perf_counter()
            bom = validate_bom(data, limits=limits, backend=backend)
            validated = time.perf_counter()
            bind_bom(bom, files)
            bound = time.perf_counter()
            index_bom(bom)
            indexed = time.perf_counter()
            timings.append((validated - start, bound - validated, indexed - bound))
        validate_s = statistics.median(t[0] for t in timings)
        bind_s = statistics.median(t[1] for t in timings)
        results[backend] = {
            "validate_s": round(validate_s, 3),
            "bind_s": round(bind_s, 4),
            "validate_plus_bind_s": round(validate_s + bind_s, 3),
            "index_s": round(statistics.median(t[2] for t in timings), 3),
            "rounds": rounds,
        }
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench sbom", description=__doc__)
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bom-mib", type=float, default=5.0)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("--tmp", type=Path, help="Directory for the generated model.")
    args = parser.parse_args(argv)

    size = int(args.size_gib * GIB)
    workdir = Path(tempfile.mkdtemp(prefix="custody-bench-sbom-", dir=args.tmp))
    figures: dict[str, Any] = {"load_average_before": os.getloadavg()}
    try:
        for label, files in (("one file", 1), ("four files", 4)):
            root = workdir / label.replace(" ", "-")
            written = _write_model(root, size, files)
            figures[f"generate, {label}"] = {
                "model_gib": round(written / GIB, 3),
                **_generation(root, written, args.repeat),
            }
            if files == 1:
                data, bound = _large_bom(int(args.bom_mib * 1e6), root)
            shutil.rmtree(root)
        figures["validate + bind"] = _ingestion(data, bound, args.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures["load_average_after"] = os.getloadavg()

    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0
