"""The streaming structure walk agrees with ``onnx.load`` and refuses broken files, typed.

The oracle is :func:`describe_onnx_model` over ``onnx.load_model_from_string``
(the whole file parsed by protobuf); the subject is :func:`inspect_onnx`, which
reads only the structure through :func:`read_onnx_structure`. Models are
generated with hypothesis from ``onnx.helper``: tensors in every storage field,
attributes of every kind, subgraphs, functions, sparse initializers, training
graphs, doc strings and metadata, external references safe and unsafe.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from signing.sbom import ExternalDataError, OnnxModelError, inspect_onnx
from signing.sbom._onnx_header import OnnxInfo, describe_onnx_model
from signing.sbom._onnx_structure import read_onnx_structure
from tests.signing.sbom.builders import onnx_model

FILES: dict[str, int | None] = {"model.onnx": None, "weights.bin": 4096, "sub/w.bin": 64}
_names = st.text("abcXYZ_0", min_size=1, max_size=6)
_locations = st.sampled_from(["weights.bin", "sub/w.bin", "../up.bin", "/etc/passwd", "x.bin"])


@st.composite
def _tensor(draw: st.DrawFn, name: str) -> TensorProto:
    kind = draw(st.sampled_from(["raw", "float", "int32", "int64", "double", "uint64", "string"]))
    count = draw(st.integers(0, 40))
    if kind == "raw":
        dtype = draw(st.sampled_from([np.float32, np.float16, np.int8, np.int64, np.bool_]))
        tensor = numpy_helper.from_array(np.zeros(count, dtype=dtype), name)
    elif kind == "string":
        tensor = helper.make_tensor(name, TensorProto.STRING, [count], [b"s"] * count)
    else:
        data_type = {
            "float": TensorProto.FLOAT,
            "int32": TensorProto.INT32,
            "int64": TensorProto.INT64,
            "double": TensorProto.DOUBLE,
            "uint64": TensorProto.UINT64,
        }[kind]
        values = [draw(st.integers(0, 2**31 - 1)) for _ in range(count)]
        tensor = helper.make_tensor(name, data_type, [count], values)
    if draw(st.booleans()):
        tensor.doc_string = draw(st.text(max_size=20))
    if draw(st.integers(0, 5)) == 0:
        tensor.ClearField("raw_data")
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (
            ("location", draw(_locations)),
            ("offset", str(draw(st.integers(0, 64)))),
            ("length", str(draw(st.integers(0, 64)))),
        ):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
    return tensor


@st.composite
def _graph(draw: st.DrawFn, depth: int = 0) -> onnx.GraphProto:
    initializers = [draw(_tensor(f"W{i}")) for i in range(draw(st.integers(0, 3)))]
    nodes = []
    for i in range(draw(st.integers(1, 4))):
        attributes: dict[str, Any] = {}
        if draw(st.booleans()):
            attributes["alpha"] = draw(st.floats(-1, 1))
        if draw(st.booleans()):
            attributes["axes"] = draw(st.lists(st.integers(-3, 3), min_size=1, max_size=4))
        if draw(st.booleans()):
            attributes["mode"] = draw(st.text(max_size=8))
        if draw(st.booleans()):
            attributes["value"] = draw(_tensor(f"C{depth}_{i}"))
        if depth < 2 and draw(st.integers(0, 3)) == 0:
            attributes["then_branch"] = draw(_graph(depth + 1))
        domain = draw(st.sampled_from(["", "ai.onnx", "com.microsoft"]))
        op_type = draw(st.sampled_from(["Relu", "If", "MatMul", "Constant", "Custom"]))
        node = helper.make_node(op_type, ["X"], [f"Y{i}"], name=draw(_names), **attributes)
        node.domain = domain
        nodes.append(node)
    dims = draw(st.lists(st.integers(1, 8) | st.sampled_from(["N", "batch"]), max_size=3))
    graph = helper.make_graph(
        nodes,
        draw(_names),
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("Y0", draw(st.sampled_from([1, 6, 7, 9])), None)],
        initializer=initializers,
        doc_string=draw(st.text(max_size=10)),
    )
    if draw(st.booleans()):
        values = draw(_tensor("SV"))
        indices = numpy_helper.from_array(np.zeros(0, dtype=np.int64), "SI")
        graph.sparse_initializer.append(helper.make_sparse_tensor(values, indices, [4]))
    if draw(st.booleans()):
        graph.value_info.append(helper.make_tensor_value_info("H", TensorProto.FLOAT, [2]))
    return graph


@st.composite
def models(draw: st.DrawFn) -> bytes:
    opsets = [helper.make_opsetid("", draw(st.integers(7, 21)))]
    if draw(st.booleans()):
        opsets.append(helper.make_opsetid("com.microsoft", draw(st.integers(1, 3))))
    model = helper.make_model(draw(_graph()), opset_imports=opsets, producer_name=draw(_names))
    model.ir_version = draw(st.integers(3, 10))
    model.doc_string = draw(st.text(max_size=30))
    helper.set_model_props(model, {"author": draw(st.text(max_size=8))})
    if draw(st.booleans()):
        function = helper.make_function(
            "custom", "Fn", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])], opsets
        )
        model.functions.append(function)
    if draw(st.booleans()):
        training = model.training_info.add()
        training.initialization.CopyFrom(draw(_graph(2)))
    return bytes(model.SerializeToString())


def _outcome(run: Any) -> OnnxInfo | tuple[type[Exception], str]:
    try:
        info: OnnxInfo = run()
    except OnnxModelError as exc:  # ExternalDataError is one
        return type(exc), str(exc) if isinstance(exc, ExternalDataError) else ""
    return info


def _full(data: bytes) -> OnnxInfo | tuple[type[Exception], str]:
    def run() -> OnnxInfo:
        try:
            model = onnx.load_model_from_string(data)
        except Exception as exc:  # noqa: BLE001 - any refusal by onnx is the oracle's refusal
            raise OnnxModelError("model.onnx", f"is not an ONNX protobuf: {exc}") from None
        return describe_onnx_model(model, name="model.onnx", label="model.onnx", files=FILES)

    return _outcome(run)


def _streamed(data: bytes) -> OnnxInfo | tuple[type[Exception], str]:
    stream = io.BytesIO(data)
    return _outcome(lambda: inspect_onnx(stream, name="model.onnx", files=FILES, size=len(data)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_the_walk_agrees_with_onnx_load(data: bytes) -> None:
    assert _streamed(data) == _full(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.data())
def test_truncated_models_are_refused_or_read_the_same(data: bytes, cut: st.DataObject) -> None:
    end = cut.draw(st.integers(0, len(data) - 1))
    streamed, full = _streamed(data[:end]), _full(data[:end])
    if isinstance(full, OnnxInfo):  # cut at a top-level field boundary: still a model
        assert streamed == full
    else:
        assert isinstance(streamed, tuple) and issubclass(streamed[0], OnnxModelError)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.data())
def test_garbled_models_are_refused_typed_or_read_the_same(
    data: bytes, edit: st.DataObject
) -> None:
    garbled = bytearray(data)
    for _ in range(edit.draw(st.integers(1, 3))):
        garbled[edit.draw(st.integers(0, len(data) - 1))] = edit.draw(st.integers(0, 255))
    streamed, full = _streamed(bytes(garbled)), _full(bytes(garbled))
    assume(garbled != data)
    if isinstance(full, OnnxInfo) and isinstance(streamed, OnnxInfo):
        assert streamed == full
    elif isinstance(full, tuple):  # what onnx cannot read is not a model here either
        assert isinstance(streamed, tuple), "the walk accepted a file onnx.load refuses"
    else:
        # Only stricter in one place: a message nested past protobuf's own limit.
        assert isinstance(streamed, tuple) and streamed[0] is OnnxModelError


def test_tensor_data_is_skipped_not_kept() -> None:
    big = numpy_helper.from_array(np.ones(1 << 20, dtype=np.float32), "Big")
    model = onnx_model()
    model.graph.initializer.append(big)
    data = model.SerializeToString()
    structure = read_onnx_structure(io.BytesIO(data), len(data))
    assert len(data) > 4 << 20 and len(structure) < 4096
    skeleton = onnx.load_model_from_string(structure)
    assert [t.name for t in skeleton.graph.initializer] == ["W", "Big"]
    assert list(skeleton.graph.initializer[1].dims) == [1 << 20]


def test_a_structure_over_the_limit_is_refused() -> None:
    data = onnx_model().SerializeToString()
    with pytest.raises(OnnxModelError, match="exceeds the 16-byte limit"):
        read_onnx_structure(io.BytesIO(data), len(data), label="m.onnx", limit=16)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes([0x3A, 0x05, 0x01]), "runs past its message"),
        (bytes([0x08] + [0x80] * 10 + [0x01]), "longer than 10 bytes"),
        (bytes([0x00, 0x01]), "field number 0"),
        (bytes([0x0B, 0x08, 0x01]), "not closed"),
        (bytes([0x0C]), "wire type 4"),
        (bytes([0x3A, 0x03, 0x2A, 0x05, 0x08]), "runs past its message"),
    ],
    ids=["past_end", "long_varint", "field_zero", "open_group", "stray_end", "nested_past_end"],
)
def test_broken_wire_format_is_a_typed_error(data: bytes, reason: str) -> None:
    with pytest.raises(OnnxModelError, match=reason):
        inspect_onnx(data, name="bad.onnx")
    with pytest.raises(Exception):  # noqa: B017 - onnx.load refuses it too
        onnx.load_model_from_string(data)


def test_a_closed_group_is_an_unknown_field_as_protobuf_has_it() -> None:
    data = bytes([0x0B, 0x08, 0x01, 0x0C]) + onnx_model().SerializeToString()
    assert _streamed(data) == _full(data)
    assert isinstance(_streamed(data), OnnxInfo)


def test_a_stream_shorter_than_its_declared_size_is_refused() -> None:
    data = onnx_model().SerializeToString()
    with pytest.raises(OnnxModelError, match="ends before"):
        inspect_onnx(io.BytesIO(data[:-10]), name="m.onnx", size=len(data))
