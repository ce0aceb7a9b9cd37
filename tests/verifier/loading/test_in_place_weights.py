"""External initializers backed by the sealed pages (no copy), and the files route beside them."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.verifier.loading.helpers import sha256, with_external
from verifier.loading import load_onnx_session

X = np.ones(8, dtype=np.float32)


def test_initializers_are_views_of_the_sealed_bytes(tmp_path: Path) -> None:
    files, digests = with_external(tmp_path)
    session = load_onnx_session(files, digests, model="model.onnx")
    backing = session._backing
    assert backing is not None and len(backing.values) == 1 and len(backing.files) == 1
    gc.collect()  # the session keeps its weights alive by itself
    assert session.run(None, {"x": X})[0].tolist() == (X + np.arange(8)).tolist()


def test_attribute_tensors_use_the_in_memory_files_beside_them(tmp_path: Path) -> None:
    """A Constant node's external value cannot be supplied by name: it still loads, verified."""
    constant = numpy_helper.from_array(np.full(8, 10.0, dtype=np.float32), "c")
    graph = helper.make_graph(
        [
            helper.make_node("Constant", [], ["c"], value=constant),
            helper.make_node("Add", ["x", "w"], ["s"]),
            helper.make_node("Add", ["s", "c"], ["y"]),
        ],
        "mixed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8])],
        [numpy_helper.from_array(np.arange(8, dtype=np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save_model(
        model,
        tmp_path / "model.onnx",
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
        convert_attribute=True,
    )
    files = {n: tmp_path / n for n in ("model.onnx", "weights.bin")}
    session = load_onnx_session(files, {n: sha256(p) for n, p in files.items()}, model="model.onnx")
    assert session.run(None, {"x": X})[0].tolist() == (X + np.arange(8) + 10).tolist()
    assert session._backing is not None and len(session._backing.values) == 1
