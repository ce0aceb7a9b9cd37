"""Safetensors headers: honest files from the library are read exactly; lying ones are refused."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open

from signing.sbom import SafetensorsHeaderError, parse_safetensors_header, read_safetensors_header
from signing.sbom._safetensors_header import MAX_HEADER_SIZE
from tests.signing.sbom.builders import raw_safetensors, write_safetensors

_NUMPY_DTYPES = {
    "F16": np.float16,
    "F32": np.float32,
    "F64": np.float64,
    "I8": np.int8,
    "I16": np.int16,
    "I32": np.int32,
    "I64": np.int64,
    "U8": np.uint8,
    "U16": np.uint16,
    "BOOL": np.bool_,
}


def test_reads_a_file_written_by_the_library(tmp_path: Path) -> None:
    path = write_safetensors(
        tmp_path / "w.safetensors",
        {"emb": np.zeros((10, 4), np.float16), "bias": np.ones(3, np.float32)},
        {"format": "pt", "note": "hello"},
    )
    header = read_safetensors_header(path)
    by_name = {t.name: t for t in header.tensors}
    assert by_name["emb"].dtype == "F16" and by_name["emb"].shape == (10, 4)
    assert by_name["bias"].dtype == "F32" and by_name["bias"].shape == (3,)
    assert header.parameter_count == 43
    assert header.dtype_counts == {"F16": 1, "F32": 1}
    assert header.metadata == {"format": "pt", "note": "hello"}
    assert header.data_size == 10 * 4 * 2 + 3 * 4


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tensors=st.dictionaries(
        st.text(
            st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12
        ).filter(lambda n: n != "__metadata__"),
        st.tuples(
            st.sampled_from(sorted(_NUMPY_DTYPES)),
            st.lists(st.integers(0, 4), max_size=3),
        ),
        max_size=6,
    )
)
def test_agrees_with_the_library_on_what_it_writes(
    tmp_path: Path, tensors: dict[str, tuple[str, list[int]]]
) -> None:
    arrays = {
        name: np.zeros(shape, dtype=_NUMPY_DTYPES[dtype])
        for name, (dtype, shape) in tensors.items()
    }
    path = write_safetensors(tmp_path / "t.safetensors", arrays)
    header = read_safetensors_header(path)
    ours = {t.name: (t.dtype, list(t.shape)) for t in header.tensors}
    with safe_open(str(path), framework="numpy") as handle:
        theirs = {
            key: (handle.get_slice(key).get_dtype(), handle.get_slice(key).get_shape())
            for key in handle.keys()  # noqa: SIM118 - safe_open is not a mapping
        }
    assert ours == theirs


def test_reads_from_a_stream_and_from_bytes(tmp_path: Path) -> None:
    data = write_safetensors(tmp_path / "a.safetensors", {"x": np.zeros(2, np.int64)}).read_bytes()
    assert read_safetensors_header(io.BytesIO(data)).tensors[0].name == "x"
    assert read_safetensors_header(io.BytesIO(data), file_size=len(data)).parameter_count == 2
    assert parse_safetensors_header(data, len(data)).tensors[0].dtype == "I64"


def test_zero_sized_tensors_and_padding_are_accepted() -> None:
    header = {
        "empty": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
        "also_empty": {"dtype": "I8", "shape": [0], "data_offsets": [0, 0]},
        "x": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]},
    }
    blob = raw_safetensors(json.dumps(header) + "    ", bytes(4))
    info = parse_safetensors_header(blob, len(blob))
    assert [t.name for t in info.tensors] == ["also_empty", "empty", "x"]


def test_sub_byte_dtypes_must_fill_whole_bytes() -> None:
    ok = raw_safetensors({"q": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}}, bytes(2))
    assert parse_safetensors_header(ok, len(ok)).tensors[0].dtype == "F4"
    odd = raw_safetensors({"q": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}, bytes(2))
    with pytest.raises(SafetensorsHeaderError, match="whole number of bytes"):
        parse_safetensors_header(odd, len(odd))


def _tensor(dtype: str, shape: list[int], begin: int, end: int) -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


LYING_HEADERS = {
    "overlapping": (
        {"a": _tensor("F32", [2], 0, 8), "b": _tensor("F32", [2], 4, 12)},
        12,
        "overlaps",
    ),
    "gap": ({"a": _tensor("F32", [1], 0, 4), "b": _tensor("F32", [1], 8, 12)}, 12, "gap"),
    "past_the_end": ({"a": _tensor("F32", [4], 0, 16)}, 8, "cover 16 bytes but the data buffer"),
    "not_covering": ({"a": _tensor("F32", [1], 0, 4)}, 12, "cover 4 bytes but the data buffer"),
    "size_mismatch": ({"a": _tensor("F32", [3], 0, 8)}, 8, "needs 12"),
    "reversed": ({"a": _tensor("F32", [0], 8, 0)}, 8, "end before they begin"),
    "unknown_dtype": ({"a": _tensor("F128", [1], 0, 16)}, 16, "unknown dtype"),
    "negative_dim": ({"a": _tensor("F32", [-1], 0, 4)}, 4, "non-negative"),
    "bool_dim": ({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, 4, "shape"),
    "float_offset": ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1.0]}}, 1, "offsets"),
    "one_offset": ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0]}}, 1, "offsets"),
    "entry_not_object": ({"a": [1, 2]}, 0, "not an object"),
    "metadata_not_strings": ({"__metadata__": {"n": 1}}, 0, "__metadata__"),
}


@pytest.mark.parametrize("case", sorted(LYING_HEADERS))
def test_headers_that_lie_are_refused(case: str, tmp_path: Path) -> None:
    header, data_size, reason = LYING_HEADERS[case]
    blob = raw_safetensors(header, bytes(data_size))
    with pytest.raises(SafetensorsHeaderError, match=reason):
        parse_safetensors_header(blob, len(blob), name="w.safetensors")
    path = tmp_path / "w.safetensors"
    path.write_bytes(blob)
    with pytest.raises(SafetensorsHeaderError):
        read_safetensors_header(path)


def test_duplicate_tensor_name_is_refused_though_the_library_keeps_the_last(
    tmp_path: Path,
) -> None:
    text = (
        '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
        ' "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    )
    blob = raw_safetensors(text, struct.pack("<ff", 1.0, 2.0))
    path = tmp_path / "dup.safetensors"
    path.write_bytes(blob)
    with safe_open(str(path), framework="numpy") as handle:  # the trap the brief names
        assert list(handle.keys()) == ["w"]
        assert handle.get_slice("w").get_shape() == [2]  # the last entry won
    with pytest.raises(SafetensorsHeaderError, match="'w' is named twice"):
        read_safetensors_header(path)


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "shorter"),
        (b"\x01\x00\x00", "shorter"),
        (struct.pack("<Q", 100) + b"{}", "runs past the end"),
        (struct.pack("<Q", MAX_HEADER_SIZE + 1) + b"{}", "exceeds"),
        (struct.pack("<Q", 2) + b"[]", "does not start with"),
        (struct.pack("<Q", 4) + b"{abc", "not valid JSON"),
        (struct.pack("<Q", 4) + b"{\xff\xfe}", "not valid JSON"),
    ],
    ids=["empty", "short", "length_past_end", "length_over_limit", "array", "garbage", "not_utf8"],
)
def test_malformed_files_are_refused(blob: bytes, reason: str, tmp_path: Path) -> None:
    with pytest.raises(SafetensorsHeaderError, match=reason):
        parse_safetensors_header(blob, len(blob))
    path = tmp_path / "bad.safetensors"
    path.write_bytes(blob)
    with pytest.raises(SafetensorsHeaderError):
        read_safetensors_header(path)


def test_the_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "unet.safetensors"
    path.write_bytes(raw_safetensors({"a": _tensor("F32", [2], 0, 8)}, bytes(4)))
    with pytest.raises(SafetensorsHeaderError) as caught:
        read_safetensors_header(path)
    assert caught.value.file == "unet.safetensors"
    assert caught.value.diagnostics().startswith("unet.safetensors: ")
