"""Load safetensors tensors from verified bytes, with a strict header check.

The ``safetensors`` library accepts a header that names a tensor twice (the last
entry wins), so a reviewer and the runtime can see different weights. Before the
library sees anything, :func:`load_safetensors` seals and verifies the file
(:mod:`verifier.loading._sealed`) and checks the header itself:

* 8-byte little-endian length, then a JSON object within the file;
* no key repeated (tensor names, ``__metadata__``, or inside an entry);
* ``__metadata__``, if present, maps strings to strings;
* each tensor has a known ``dtype``, a ``shape`` of non-negative integers and
  ``data_offsets`` ``[begin, end]`` whose length is exactly shape x item size;
* the tensors tile the data area exactly: no gap, no overlap, nothing past it.

The tensors are then read from those same verified bytes with
``safetensors.numpy.load``.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np
import safetensors.numpy

from verifier.loading._sealed import seal_and_verify
from verifier.loading.errors import MalformedModel

__all__ = ["check_safetensors_header", "load_safetensors"]

_MAX_HEADER = 100 * 1024 * 1024
_ITEM_SIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
    "U32": 4, "I32": 4, "F32": 4,
    "U64": 8, "I64": 8, "F64": 8,
}  # fmt: skip


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedModel(f"safetensors header: duplicate key {key!r}")
        result[key] = value
    return result


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_safetensors_header(data: memoryview | bytes, name: str = "safetensors") -> dict[str, Any]:
    """Check the header of the serialised file ``data``; return it parsed. Raise on any lie."""
    if len(data) < 8:
        raise MalformedModel(f"{name}: shorter than a safetensors header")
    length = int.from_bytes(data[:8], "little")
    if length > _MAX_HEADER or 8 + length > len(data):
        raise MalformedModel(f"{name}: header length {length} exceeds the file")
    try:
        header = json.loads(bytes(data[8 : 8 + length]), object_pairs_hook=_no_duplicates)
    except MalformedModel as exc:
        raise MalformedModel(f"{name}: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedModel(f"{name}: header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise MalformedModel(f"{name}: header is not a JSON object")
    data_size = len(data) - 8 - length
    spans: list[tuple[int, int, str]] = []
    for key, entry in header.items():
        if key == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise MalformedModel(f"{name}: __metadata__ must map strings to strings")
            continue
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise MalformedModel(f"{name}: tensor {key!r} is not dtype/shape/data_offsets")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in _ITEM_SIZE:
            raise MalformedModel(f"{name}: tensor {key!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise MalformedModel(f"{name}: tensor {key!r} has a malformed shape")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_count(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise MalformedModel(f"{name}: tensor {key!r} has malformed data_offsets")
        begin, end = offsets
        if end - begin != math.prod(shape) * _ITEM_SIZE[dtype]:
            raise MalformedModel(
                f"{name}: tensor {key!r} spans {end - begin} bytes, its shape and dtype need "
                f"{math.prod(shape) * _ITEM_SIZE[dtype]}"
            )
        spans.append((begin, end, key))
    position = 0
    for begin, end, key in sorted(spans):
        if begin != position:
            what = "overlaps the previous tensor" if begin < position else "leaves a gap before it"
            raise MalformedModel(f"{name}: tensor {key!r} {what}")
        position = end
    if position != data_size:
        raise MalformedModel(
            f"{name}: tensors cover {position} bytes of a {data_size}-byte data area"
        )
    return header


def load_safetensors(
    name: str, path: str | os.PathLike[str], digest: str
) -> dict[str, np.ndarray[Any, Any]]:
    """The tensors of the safetensors file ``path``, read from its verified, sealed bytes.

    ``digest`` is ``"sha256:<hex>"`` or ``"blake3:<hex>"``. Raises
    :class:`~verifier.loading.errors.DigestMismatch` or
    :class:`~verifier.loading.errors.MalformedModel` before any tensor is built.
    """
    with seal_and_verify(name, path, digest) as sealed:
        view = sealed.view()
        try:
            check_safetensors_header(view, name)
            try:
                return safetensors.numpy.load(view.tobytes())
            except Exception as exc:  # noqa: BLE001 - the library's errors are untyped
                raise MalformedModel(f"{name}: safetensors refused it: {exc}") from None
        finally:
            view.release()
