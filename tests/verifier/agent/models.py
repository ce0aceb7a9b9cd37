"""Small real models for agent tests: y = x + w, single file or with external data."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def add_model(weights: np.ndarray, *, external: str | None = None) -> dict[str, bytes]:
    """``{"model.onnx": ...}`` (plus the external file when ``external`` names it)."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [len(weights)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [len(weights)])],
        [numpy_helper.from_array(weights.astype(np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    if external is None:
        return {"model.onnx": model.SerializeToString()}
    with tempfile.TemporaryDirectory() as work:
        onnx.save_model(
            model,
            Path(work) / "model.onnx",
            save_as_external_data=True,
            location=external,
            size_threshold=0,
        )
        return {
            "model.onnx": (Path(work) / "model.onnx").read_bytes(),
            external: (Path(work) / external).read_bytes(),
        }


def with_location(model: bytes, location: str) -> bytes:
    """The model with every external-data location rewritten to ``location``."""
    proto = onnx.ModelProto.FromString(model)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    return proto.SerializeToString()
