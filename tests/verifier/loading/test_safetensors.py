"""load_safetensors: tensors from verified bytes; duplicate names and lying offsets refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

from tests.verifier.loading.helpers import safetensors_bytes
from verifier.loading import DigestMismatch, MalformedModel, load_safetensors

A = np.arange(4, dtype=np.float32)
B = np.arange(2, dtype=np.int64)


def _write(tmp_path: Path, data: bytes) -> tuple[Path, str]:
    path = tmp_path / "weights.safetensors"
    path.write_bytes(data)
    return path, "sha256:" + hashlib.sha256(data).hexdigest()


def test_loads_verified_tensors(tmp_path: Path) -> None:
    path, digest = _write(tmp_path, safetensors.numpy.save({"a": A, "b": B}))
    tensors = load_safetensors("weights.safetensors", path, digest)
    assert tensors["a"].tolist() == A.tolist() and tensors["b"].tolist() == B.tolist()


def test_flipped_byte_rejected(tmp_path: Path) -> None:
    data = bytearray(safetensors.numpy.save({"a": A}))
    path, digest = _write(tmp_path, bytes(data))
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch):
        load_safetensors("weights.safetensors", path, digest)


def test_duplicate_tensor_name_rejected(tmp_path: Path) -> None:
    entry = '"a": {{"dtype": "{0}", "shape": [4], "data_offsets": [0, 16]}}'
    header = "{" + entry.format("F32") + ", " + entry.format("I32") + "}"
    data = safetensors_bytes(header, A.tobytes())
    # The trap: the library itself accepts it and the last entry wins.
    assert safetensors.numpy.load(data)["a"].dtype == np.int32
    path, digest = _write(tmp_path, data)
    with pytest.raises(MalformedModel, match="duplicate"):
        load_safetensors("weights.safetensors", path, digest)


@pytest.mark.parametrize(
    ("offsets_a", "offsets_b", "data_size", "why"),
    [
        ([0, 16], [8, 24], 24, "overlaps"),
        ([0, 16], [24, 40], 40, "gap"),
        ([0, 16], [16, 32], 40, "cover"),  # trailing bytes no tensor owns
        ([0, 12], [12, 28], 28, "spans"),  # length differs from shape x dtype
        ([0, 16], [16, 32], 24, "cover"),  # past the end of the data
        ([16, 0], [16, 32], 32, "malformed"),
    ],
)
def test_lying_offsets_rejected(
    tmp_path: Path, offsets_a: list[int], offsets_b: list[int], data_size: int, why: str
) -> None:
    header = {
        "a": {"dtype": "F32", "shape": [4], "data_offsets": offsets_a},
        "b": {"dtype": "F32", "shape": [4], "data_offsets": offsets_b},
    }
    path, digest = _write(tmp_path, safetensors_bytes(header, bytes(data_size)))
    with pytest.raises(MalformedModel, match=why):
        load_safetensors("weights.safetensors", path, digest)


@pytest.mark.parametrize(
    "header",
    [
        "[]",
        "not json",
        '{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}',
        '{"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}',
        '{"__metadata__": {"k": 1}}',
        '{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}}',
    ],
)
def test_malformed_header_rejected(tmp_path: Path, header: str) -> None:
    path, digest = _write(tmp_path, safetensors_bytes(header, bytes(4)))
    with pytest.raises(MalformedModel):
        load_safetensors("weights.safetensors", path, digest)


def test_header_length_past_the_file_rejected(tmp_path: Path) -> None:
    path, digest = _write(tmp_path, (10**6).to_bytes(8, "little") + b"{}")
    with pytest.raises(MalformedModel, match="exceeds"):
        load_safetensors("weights.safetensors", path, digest)
