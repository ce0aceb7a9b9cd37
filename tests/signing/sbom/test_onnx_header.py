"""ONNX facts come from the protobuf alone; external data must stay inside the model's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from signing.sbom import ExternalDataError, OnnxModelError, inspect_onnx
from tests.signing.sbom.builders import onnx_model, weights_bytes, write_onnx


def test_describes_the_graph(tmp_path: Path) -> None:
    path = write_onnx(tmp_path / "model.onnx", onnx_model(subgraph=True))
    info = inspect_onnx(path)
    assert info.ir_version == 10
    assert info.opsets == {"ai.onnx": 17}
    assert (info.producer_name, info.producer_version) == ("custody-tests", "1.0")
    assert [str(v) for v in info.inputs] == ["X: float[N,4]", "C: bool[]"]
    assert [str(v) for v in info.outputs] == ["Y: float[N,2]", "Z: float[1]"]
    # Constant nodes live in the If node's branches: subgraphs are counted.
    assert info.operators == {"Constant": 2, "If": 1, "MatMul": 1, "Relu": 1}
    assert info.node_count == 5
    assert info.initializer_count == 1
    assert info.initializer_dtypes == ("float",)
    assert info.external_data == ()


def test_custom_domains_and_bytes_input() -> None:
    model = onnx_model()
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    model.graph.node.append(helper.make_node("FusedGelu", ["Y"], ["G"], domain="com.microsoft"))
    info = inspect_onnx(model.SerializeToString(), name="m.onnx")
    assert info.opsets == {"ai.onnx": 17, "com.microsoft": 1}
    assert info.operators["com.microsoft:FusedGelu"] == 1


def test_external_data_inside_the_model_is_listed() -> None:
    model = onnx_model(external_location="weights.bin", external_length=32)
    info = inspect_onnx(
        model.SerializeToString(),
        name="unet/model.onnx",
        files={"unet/model.onnx": None, "unet/weights.bin": 32},
    )
    (reference,) = info.external_data
    assert (reference.tensor, reference.location, reference.file) == (
        "W",
        "weights.bin",
        "unet/weights.bin",
    )
    assert (reference.offset, reference.length) == (0, 32)
    assert info.external_files == ("unet/weights.bin",)


def test_external_data_written_by_onnx_itself(tmp_path: Path) -> None:
    model = onnx_model()
    onnx.save_model(
        model,
        str(tmp_path / "model.onnx"),
        save_as_external_data=True,
        location="model.onnx.data",
        size_threshold=0,
    )
    data_size = (tmp_path / "model.onnx.data").stat().st_size
    info = inspect_onnx(
        tmp_path / "model.onnx",
        name="model.onnx",
        files={"model.onnx": None, "model.onnx.data": data_size},
    )
    assert info.external_files == ("model.onnx.data",)


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("../secret.bin", r"\.\."),
        ("sub/../../secret.bin", r"\.\."),
        ("/etc/passwd", "absolute"),
        ("C:\\weights.bin", "backslash"),
        ("./weights.bin", "normalised"),
        ("", "no location"),
        ("other.bin", "not one of the model's files"),
    ],
    ids=["dotdot", "nested_dotdot", "absolute", "windows", "dot_component", "empty", "unlisted"],
)
def test_external_data_outside_the_model_is_refused(location: str, reason: str) -> None:
    model = onnx_model(external_location=location)
    with pytest.raises(ExternalDataError, match=reason):
        inspect_onnx(
            model.SerializeToString(),
            name="model.onnx",
            files={"model.onnx": None, "weights.bin": 32},
        )


def test_unsafe_locations_are_refused_even_without_a_file_list() -> None:
    model = onnx_model(external_location="../../../../etc/shadow")
    with pytest.raises(ExternalDataError):
        inspect_onnx(model.SerializeToString(), name="model.onnx")


def test_external_range_past_the_end_of_the_file_is_refused() -> None:
    model = onnx_model(external_location="weights.bin", external_offset=16, external_length=32)
    with pytest.raises(ExternalDataError, match="past the end"):
        inspect_onnx(
            model.SerializeToString(),
            name="model.onnx",
            files={"model.onnx": None, "weights.bin": len(weights_bytes())},
        )


def test_external_data_hidden_in_a_subgraph_constant_is_checked() -> None:
    model = onnx_model(subgraph=True)
    constant = model.graph.node[2].attribute[0].g.node[0].attribute[0].t
    constant.ClearField("raw_data")
    constant.ClearField("float_data")
    constant.data_location = TensorProto.EXTERNAL
    entry = constant.external_data.add()
    entry.key, entry.value = "location", "../escape.bin"
    with pytest.raises(ExternalDataError, match=r"\.\."):
        inspect_onnx(model.SerializeToString(), name="model.onnx", files={"model.onnx": None})


def test_external_entries_on_a_tensor_not_marked_external_are_refused() -> None:
    model = onnx_model()
    entry = model.graph.initializer[0].external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"
    with pytest.raises(ExternalDataError, match="not marked EXTERNAL"):
        inspect_onnx(model.SerializeToString(), name="model.onnx")


def test_initializers_listed_as_inputs_are_not_graph_inputs() -> None:
    weight = numpy_helper.from_array(np.zeros(2, np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("Add", ["X", "W"], ["Y"])],
        "old",
        [
            helper.make_tensor_value_info("X", TensorProto.FLOAT, [2]),
            helper.make_tensor_value_info("W", TensorProto.FLOAT, [2]),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 3
    info = inspect_onnx(model.SerializeToString())
    assert [v.name for v in info.inputs] == ["X"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xff\xff\xff not a protobuf",
        b"hello world\n",
        onnx.ModelProto(ir_version=10).SerializeToString(),
    ],
    ids=["empty", "garbage", "text", "no_graph"],
)
def test_files_that_are_not_onnx_models_are_refused(data: bytes, tmp_path: Path) -> None:
    with pytest.raises(OnnxModelError):
        inspect_onnx(data, name="bad.onnx")
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    with pytest.raises(OnnxModelError, match=r"bad\.onnx"):
        inspect_onnx(path)


def test_unreadable_path_is_an_onnx_model_error(tmp_path: Path) -> None:
    with pytest.raises(OnnxModelError, match="cannot be read"):
        inspect_onnx(tmp_path / "missing.onnx")
