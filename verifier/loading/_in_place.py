"""Top-level external initializers handed to onnxruntime as views of the sealed bytes.

``add_external_initializers_from_files_in_memory`` makes onnxruntime copy every
weight (and its Python binding copies the buffer first): ~3x the model in memory.
A sealed memory file cannot change, so its pages can back the tensors directly:
each top-level graph initializer with external data becomes a NumPy view of the
sealed map (dtype and shape from its ``TensorProto``) wrapped in an ``OrtValue``
that onnxruntime uses without copying (``add_external_initializers``). The views,
maps and descriptors must then live as long as the session: :class:`Backing`
holds them and the session wrapper holds the backing.

Tensors this cannot express (in attributes or subgraphs, unusual dtypes,
misaligned offsets, a declared length that disagrees with the shape) are left to
the in-memory files route, which every location they name still gets.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
from onnx import TensorProto

from verifier.loading._sealed import SealedFile
from verifier.loading.external import ExternalReference

__all__ = ["Backing", "split_by_name"]

_DTYPES: dict[int, Any] = {
    TensorProto.FLOAT: np.float32,
    TensorProto.DOUBLE: np.float64,
    TensorProto.FLOAT16: np.float16,
    TensorProto.INT8: np.int8,
    TensorProto.UINT8: np.uint8,
    TensorProto.INT16: np.int16,
    TensorProto.UINT16: np.uint16,
    TensorProto.INT32: np.int32,
    TensorProto.UINT32: np.uint32,
    TensorProto.INT64: np.int64,
    TensorProto.UINT64: np.uint64,
    TensorProto.BOOL: np.bool_,
}


@dataclass
class Backing:
    """Everything whose memory a session's external initializers point into."""

    files: list[SealedFile] = field(default_factory=list)
    views: list[memoryview] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def release(self) -> None:
        """Drop everything (only once no session uses it)."""
        self.values.clear()
        for view in self.views:
            with contextlib.suppress(BufferError):  # an array may still export it
                view.release()
        self.views.clear()
        for sealed in self.files:
            sealed.close()
        self.files.clear()


def _view_of(ref: ExternalReference, data: memoryview) -> np.ndarray[Any, Any] | None:
    dtype = _DTYPES.get(ref.data_type)
    if dtype is None or any(d < 0 for d in ref.dims):
        return None
    itemsize = np.dtype(dtype).itemsize
    count = math.prod(ref.dims)
    nbytes = count * itemsize
    if ref.length is not None and ref.length != nbytes:
        return None
    if ref.offset % itemsize or ref.offset + nbytes > len(data):
        return None
    array = np.frombuffer(data, dtype=dtype, count=count, offset=ref.offset)
    return array.reshape(ref.dims)


def split_by_name(
    references: Sequence[ExternalReference],
    externals: Mapping[str, SealedFile],
    options: Any,
    backing: Backing,
) -> list[ExternalReference]:
    """Supply what can be supplied by name; return the references left to the files route."""
    views: dict[str, memoryview] = {}
    names: list[str] = []
    values: list[Any] = []
    rest: list[ExternalReference] = []
    initializer_count: dict[str, int] = {}
    for ref in references:
        if ref.initializer:
            initializer_count[ref.tensor] = initializer_count.get(ref.tensor, 0) + 1
    for ref in references:
        array = None
        if ref.initializer and initializer_count[ref.tensor] == 1:
            if ref.location not in views:
                views[ref.location] = externals[ref.location].view()
                backing.views.append(views[ref.location])
            array = _view_of(ref, views[ref.location])
        if array is None:
            rest.append(ref)
            continue
        names.append(ref.tensor)
        values.append(ort.OrtValue.ortvalue_from_numpy(array))
    if names:
        options.add_external_initializers(names, values)
        backing.values.extend(values)
    return rest
