"""Write a tiny real model to try Custody with: ``python docs/examples/tiny_model.py DIR``.

DIR gets ``model.onnx`` (y = x + w, four floats, opset 17) and ``config.json``; ``input.npy``
next to DIR is an input the edge agent can run it on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def write_model(directory: Path) -> None:
    weights = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10  # onnxruntime refuses the IR version newer onnx writes by default
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.onnx").write_bytes(model.SerializeToString())
    (directory / "config.json").write_text(json.dumps({"task": "add", "size": 4}) + "\n")
    np.save(directory.parent / "input.npy", np.zeros(4, dtype=np.float32))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python docs/examples/tiny_model.py DIR")
    write_model(Path(sys.argv[1]))
    print(f"wrote {sys.argv[1]}/model.onnx, {sys.argv[1]}/config.json and input.npy")
