"""Small model files for the SBOM tests: safetensors (honest and lying) and ONNX graphs."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "sbom"


def write_safetensors(
    path: Path, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None
) -> Path:
    """A real safetensors file written by the safetensors library."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(dict(tensors), str(path), metadata=dict(metadata) if metadata else None)
    return path


def raw_safetensors(header: str | Mapping[str, Any], data: bytes) -> bytes:
    """A safetensors file from a header given verbatim (so it can lie)."""
    text = header if isinstance(header, str) else json.dumps(header)
    encoded = text.encode("utf-8")
    return struct.pack("<Q", len(encoded)) + encoded + data


def onnx_model(
    *,
    external_location: str | None = None,
    external_offset: int = 0,
    external_length: int | None = None,
    ir_version: int = 10,
    opset: int = 17,
    subgraph: bool = False,
) -> onnx.ModelProto:
    """``Y = Relu(X @ W)`` with X float[N,4]; W optionally marked as external data.

    With ``subgraph``, an ``If`` node carries a branch with its own Constant.
    """
    weight = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(4, 2), "W")
    if external_location is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        entries = {"location": external_location, "offset": str(external_offset)}
        if external_length is not None:
            entries["length"] = str(external_length)
        for key, value in entries.items():
            item = weight.external_data.add()
            item.key, item.value = key, value
    nodes = [helper.make_node("MatMul", ["X", "W"], ["H"]), helper.make_node("Relu", ["H"], ["Y"])]
    outputs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 2])]
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])]
    if subgraph:
        branch_out = helper.make_tensor_value_info("B", TensorProto.FLOAT, [1])
        then_graph = helper.make_graph(
            [
                helper.make_node(
                    "Constant",
                    [],
                    ["B"],
                    value=numpy_helper.from_array(np.ones(1, dtype=np.float32)),
                )
            ],
            "then",
            [],
            [branch_out],
        )
        else_graph = helper.make_graph(
            [
                helper.make_node(
                    "Constant",
                    [],
                    ["B"],
                    value=numpy_helper.from_array(np.zeros(1, dtype=np.float32)),
                )
            ],
            "else",
            [],
            [branch_out],
        )
        inputs.append(helper.make_tensor_value_info("C", TensorProto.BOOL, []))
        nodes.append(
            helper.make_node("If", ["C"], ["Z"], then_branch=then_graph, else_branch=else_graph)
        )
        outputs.append(helper.make_tensor_value_info("Z", TensorProto.FLOAT, [1]))
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, initializer=[weight])
    model = helper.make_model(
        graph,
        producer_name="custody-tests",
        producer_version="1.0",
        opset_imports=[helper.make_opsetid("", opset)],
    )
    model.ir_version = ir_version  # onnx 1.23 would write 14, which onnxruntime refuses
    return model


def write_onnx(path: Path, model: onnx.ModelProto) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def weights_bytes() -> bytes:
    """The bytes of W (float32[4,2]) as external data."""
    return np.arange(8, dtype=np.float32).tobytes()


def make_model_dir(root: Path) -> Path:
    """A small model directory: safetensors weights, an ONNX graph with external data, config."""
    write_safetensors(
        root / "unet" / "diffusion.safetensors",
        {
            "down.0.conv.weight": np.zeros((4, 4), np.float16),
            "down.1.conv.weight": np.zeros((4, 4), np.float16),
            "norm.scale": np.ones(4, np.float32),
        },
        {"format": "pt"},
    )
    write_onnx(
        root / "model.onnx",
        onnx_model(external_location="model.onnx.data", external_length=32),
    )
    (root / "model.onnx.data").write_bytes(weights_bytes())
    (root / "config.json").write_text('{"layers": 2}\n')
    return root
