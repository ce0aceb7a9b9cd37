"""Verified load into onnxruntime vs ``InferenceSession(path)``, time and peak memory.

Generates, in a temporary directory deleted afterwards, a ~500 MB single-file
ONNX model and a model with ~500 MB of external data. Each measurement runs in a
fresh subprocess (so page faults, arenas and VmHWM belong to that load alone);
rounds alternate the reference and the candidate and the median of per-round
ratios is reported (session creation time swings a lot from run to run).

Candidates, from files + digests to a ready session:
  verified-sha256 / verified-blake3: ``load_onnx_session``; the edge agent's load is
    the blake3 row (it keeps blake3 digests in its state after checking sha256 on
    download). Single file: read in place under a kernel read lease (hash through
    the leased descriptor, onnxruntime opens the same inode). External data: sealed
    memfd copies, weights handed to onnxruntime as views of the sealed pages.
  reference: ``onnxruntime.InferenceSession(path)`` (no verification)

Peak memory is VmHWM of the child as a multiple of the model size; sealed memory
files are mapped, so their pages are in it; the leased route unmaps the file
before onnxruntime reads it (page cache, not process memory).

    python -m bench load [--size-mb 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import blake3
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_CHILD = r"""
import json, sys, time
files, digests, model, mode = json.loads(sys.argv[1])
import onnxruntime as ort
import numpy as np
from verifier.loading import load_onnx_session
start = time.perf_counter()
if mode == "reference":
    session = ort.InferenceSession(files[model], providers=["CPUExecutionProvider"])
else:
    session = load_onnx_session(files, digests, model=model)
took = time.perf_counter() - start
session.run(None, {"idx": np.array([1], dtype=np.int64)})
hwm = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1]) * 1024
print(json.dumps({"seconds": took, "hwm": hwm}))
"""


def _build(root: Path, size: int, external: bool) -> tuple[dict[str, str], int]:
    count = 10
    cols = 1000
    rows = max(1, size // count // (cols * 4))
    initializers, nodes = [], []
    rng = np.random.default_rng(0)
    for i in range(count):
        weights = rng.random((rows, cols), dtype=np.float32)
        initializers.append(numpy_helper.from_array(weights, f"W{i}"))
        nodes.append(helper.make_node("Gather", [f"W{i}", "idx"], [f"G{i}"]))
    nodes.append(helper.make_node("Sum", [f"G{i}" for i in range(count)], ["Y"]))
    graph = helper.make_graph(
        nodes,
        "bench",
        [helper.make_tensor_value_info("idx", TensorProto.INT64, [None])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, cols])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    root.mkdir(parents=True)
    if external:
        onnx.save_model(
            model,
            root / "model.onnx",
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location="weights.bin",
            size_threshold=0,
        )
    else:
        onnx.save_model(model, root / "model.onnx")
    files = {p.name: str(p) for p in root.iterdir()}
    return files, sum(Path(p).stat().st_size for p in files.values())


def _digests(files: dict[str, str], algorithm: str) -> dict[str, str]:
    out = {}
    for name, path in files.items():
        data = Path(path).read_bytes()
        if algorithm == "sha256":
            out[name] = "sha256:" + hashlib.sha256(data).hexdigest()
        else:
            out[name] = "blake3:" + blake3.blake3(data).hexdigest()
    return out


def _child(files: dict[str, str], digests: dict[str, str], mode: str) -> dict[str, float]:
    argv = [sys.executable, "-c", _CHILD, json.dumps([files, digests, "model.onnx", mode])]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="custody-bench-load-"))
    try:
        for layout in ("single-file", "external-data"):
            files, total = _build(work / layout, args.size_mb * 1_000_000, layout != "single-file")
            digests = {a: _digests(files, a) for a in ("sha256", "blake3")}
            ratios: dict[str, list[float]] = {a: [] for a in digests}
            memory: dict[str, list[float]] = {a: [] for a in digests}
            refs: list[float] = []
            ref_memory: list[float] = []
            for _ in range(args.repeat):
                ref = _child(files, digests["sha256"], "reference")
                refs.append(ref["seconds"])
                ref_memory.append(ref["hwm"] / total)
                for algorithm, d in digests.items():
                    got = _child(files, d, "verified")
                    ratios[algorithm].append(got["seconds"] / ref["seconds"])
                    # The sealed copies are mapped (hashed through a map) while onnxruntime
                    # loads, so VmHWM already counts their pages (RssShmem).
                    memory[algorithm].append(got["hwm"] / total)
            print(
                f"{layout}: {total / 1e6:.0f} MB, reference InferenceSession(path) "
                f"median {statistics.median(refs):.3f} s, peak {statistics.median(ref_memory):.2f}x"
            )
            for algorithm in digests:
                print(
                    f"  verified ({algorithm}): time ratio median "
                    f"{statistics.median(ratios[algorithm]):.2f} "
                    f"(min {min(ratios[algorithm]):.2f}, max {max(ratios[algorithm]):.2f}), "
                    f"peak memory {statistics.median(memory[algorithm]):.2f}x model size"
                )
            shutil.rmtree(work / layout)
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"load average at {time.strftime('%H:%M:%S')}: {' '.join(load)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0
