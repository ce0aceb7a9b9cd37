"""Read and check a safetensors header without touching the tensor bytes.

A safetensors file is ``u64 little-endian N`` + ``N`` bytes of UTF-8 JSON (an
object, optionally padded with spaces) + the data buffer. The JSON maps tensor
names to ``{"dtype", "shape", "data_offsets": [begin, end]}`` (offsets relative
to the start of the buffer) plus an optional ``__metadata__`` of strings.

Rules enforced here (stricter than the ``safetensors`` library, which keeps
the last of two entries with the same name):

* ``N`` is at most :data:`MAX_HEADER_SIZE` and fits in the file; the header
  starts with ``{`` and is one JSON object with no duplicate keys;
* every tensor has a known dtype, a shape of non-negative integers and two
  integer offsets with ``begin <= end``;
* ``end - begin`` equals the byte size implied by dtype and shape (sub-byte
  dtypes must fill whole bytes);
* sorted by offset, the tensors tile the buffer exactly: no overlap, no gap,
  and the last one ends where the file ends.

Example::

    >>> import json, struct
    >>> header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})
    >>> blob = struct.pack("<Q", len(header)) + header.encode() + bytes(8)
    >>> info = parse_safetensors_header(blob, len(blob))
    >>> (info.tensors[0].name, info.parameter_count)
    ('w', 2)
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from signing.sbom.errors import SafetensorsHeaderError

__all__ = [
    "DTYPE_BITS",
    "MAX_HEADER_SIZE",
    "SafetensorsHeader",
    "TensorInfo",
    "parse_safetensors_header",
    "read_safetensors_header",
]

# The same ceiling the safetensors library applies.
MAX_HEADER_SIZE = 100_000_000

# Bits per element of every dtype the safetensors format defines (0.8).
DTYPE_BITS: Mapping[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "F64": 64,
    "I64": 64,
    "U64": 64,
}

_METADATA_KEY = "__metadata__"


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor as its header describes it."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def element_count(self) -> int:
        """Number of elements (1 for a scalar)."""
        return math.prod(self.shape)


@dataclass(frozen=True, slots=True)
class SafetensorsHeader:
    """A checked header: tensors in file order, metadata, sizes."""

    tensors: tuple[TensorInfo, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    header_size: int = 0
    data_size: int = 0

    @property
    def parameter_count(self) -> int:
        """Total number of elements over all tensors."""
        return sum(t.element_count for t in self.tensors)

    @property
    def dtype_counts(self) -> dict[str, int]:
        """Tensors per dtype, sorted by dtype name."""
        return dict(sorted(Counter(t.dtype for t in self.tensors).items()))


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _tensor(file: str, name: str, entry: object) -> TensorInfo:
    def fail(reason: str) -> SafetensorsHeaderError:
        return SafetensorsHeaderError(file, f"tensor {name!r}: {reason}")

    if not isinstance(entry, dict):
        raise fail("entry is not an object")
    dtype = entry.get("dtype")
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise fail(f"unknown dtype {dtype!r}")
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise fail(f"shape {shape!r} is not a list of non-negative integers")
    offsets = entry.get("data_offsets")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_int(o) and o >= 0 for o in offsets)
    ):
        raise fail(f"data_offsets {offsets!r} is not two non-negative integers")
    begin, end = offsets
    if end < begin:
        raise fail(f"data_offsets [{begin}, {end}] end before they begin")
    bits = math.prod(shape) * DTYPE_BITS[dtype]
    if bits % 8:
        raise fail(f"{dtype} x {shape} does not fill a whole number of bytes")
    if end - begin != bits // 8:
        raise fail(
            f"data_offsets [{begin}, {end}] span {end - begin} bytes, "
            f"but {dtype} x {shape} needs {bits // 8}"
        )
    return TensorInfo(name, dtype, tuple(shape), begin, end)


def parse_safetensors_header(prefix: bytes, file_size: int, *, name: str = "") -> SafetensorsHeader:
    """Check the header held in ``prefix`` (the file's first ``8 + N`` bytes or more).

    ``file_size`` is the size of the whole file; ``name`` labels errors.
    Raises :class:`~signing.sbom.errors.SafetensorsHeaderError`.
    """
    label = name or "safetensors file"
    if file_size < 8 or len(prefix) < 8:
        raise SafetensorsHeaderError(label, "shorter than the 8-byte header length")
    (size,) = struct.unpack_from("<Q", prefix)
    if size > MAX_HEADER_SIZE:
        raise SafetensorsHeaderError(
            label, f"header length {size} exceeds the {MAX_HEADER_SIZE}-byte limit"
        )
    if 8 + size > file_size:
        raise SafetensorsHeaderError(
            label, f"header length {size} runs past the end of the {file_size}-byte file"
        )
    if len(prefix) < 8 + size:
        raise SafetensorsHeaderError(label, "header is truncated")
    raw = prefix[8 : 8 + size]
    if not raw.startswith(b"{"):
        raise SafetensorsHeaderError(label, "header does not start with '{'")
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        raise SafetensorsHeaderError(
            label, f"tensor {exc.key!r} is named twice in the header"
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SafetensorsHeaderError(label, f"header is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise SafetensorsHeaderError(label, "header is not a JSON object")

    metadata_raw = document.pop(_METADATA_KEY, {})
    if not isinstance(metadata_raw, dict) or not all(
        isinstance(v, str) for v in metadata_raw.values()
    ):
        raise SafetensorsHeaderError(label, "__metadata__ is not an object of strings")

    tensors = [_tensor(label, tensor_name, entry) for tensor_name, entry in document.items()]
    data_size = file_size - 8 - size
    expected = 0
    for tensor in sorted(tensors, key=lambda t: (t.begin, t.end)):
        if tensor.begin != expected:
            problem = "overlaps the previous tensor" if tensor.begin < expected else "leaves a gap"
            raise SafetensorsHeaderError(
                label,
                f"tensor {tensor.name!r} starts at {tensor.begin} and {problem} "
                f"(the previous one ends at {expected})",
            )
        expected = tensor.end
    if expected != data_size:
        raise SafetensorsHeaderError(
            label,
            f"tensors cover {expected} bytes but the data buffer holds {data_size}",
        )
    ordered = tuple(sorted(tensors, key=lambda t: (t.begin, t.end, t.name)))
    return SafetensorsHeader(ordered, dict(metadata_raw), size, data_size)


def read_safetensors_header(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    file_size: int | None = None,
    name: str = "",
) -> SafetensorsHeader:
    """Read and check the header of a safetensors file or seekable binary stream.

    Only the 8-byte length and the header are read. For a stream, pass
    ``file_size`` unless the stream can seek to its end.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        with path.open("rb") as handle:
            return read_safetensors_header(
                handle, file_size=os.fstat(handle.fileno()).st_size, name=name or path.name
            )
    stream = source
    if file_size is None:
        position = stream.tell()
        file_size = stream.seek(0, os.SEEK_END) - position
        stream.seek(position)
    head = stream.read(8)
    if len(head) < 8 or file_size < 8:
        raise SafetensorsHeaderError(name or "safetensors file", "shorter than 8 bytes")
    (size,) = struct.unpack("<Q", head)
    if size > MAX_HEADER_SIZE or 8 + size > file_size:
        return parse_safetensors_header(head, file_size, name=name)  # raises with the reason
    body = stream.read(size)
    return parse_safetensors_header(head + body, file_size, name=name)
