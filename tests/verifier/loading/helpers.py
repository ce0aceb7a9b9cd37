"""Small ONNX and safetensors models built in tests, with their digests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WEIGHTS = np.arange(8, dtype=np.float32)
X = np.ones(8, dtype=np.float32)


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def model_proto(weights: np.ndarray = WEIGHTS) -> onnx.ModelProto:
    """``y = x + w`` with ``w`` an initializer of 8 floats."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10  # onnx 1.23 writes IR 14 by default; onnxruntime refuses it
    return model


def single_file(
    root: Path, weights: np.ndarray = WEIGHTS
) -> tuple[dict[str, Path], dict[str, str]]:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "model.onnx"
    onnx.save_model(model_proto(weights), path)
    return {"model.onnx": path}, {"model.onnx": sha256(path)}


def with_external(
    root: Path, weights: np.ndarray = WEIGHTS, location: str = "weights.bin"
) -> tuple[dict[str, Path], dict[str, str]]:
    """A model whose initializer lives in ``weights.bin``; the location then rewritten."""
    root.mkdir(parents=True, exist_ok=True)
    proto = model_proto(weights)
    onnx.save_model(
        proto,
        root / "model.onnx",
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    if location != "weights.bin":
        proto = onnx.load(root / "model.onnx", load_external_data=False)
        for entry in proto.graph.initializer[0].external_data:
            if entry.key == "location":
                entry.value = location
        (root / "model.onnx").write_bytes(proto.SerializeToString())
    files = {"model.onnx": root / "model.onnx", "weights.bin": root / "weights.bin"}
    return files, {name: sha256(path) for name, path in files.items()}


def safetensors_bytes(header: dict[str, object] | str, data: bytes) -> bytes:
    text = header if isinstance(header, str) else json.dumps(header)
    encoded = text.encode()
    return len(encoded).to_bytes(8, "little") + encoded + data
