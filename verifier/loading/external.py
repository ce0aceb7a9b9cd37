"""Find every external-data reference of a serialised ONNX model, without copying its weights.

A model file can be hundreds of megabytes of initializers. Parsing it whole with
``onnx`` costs a second copy of every weight, so this module walks the protobuf
wire format over a read-only view instead: it descends only into the message
fields that can (transitively) hold a ``TensorProto`` -- computed from the
installed ``onnx`` package's own descriptors, so initializers, sparse
initializers, node attributes, subgraphs, functions and training graphs are all
covered -- and skips every other field by its length. Each tensor that declares
external data (``data_location = EXTERNAL`` or an ``external_data`` entry) is then
parsed with ``onnx.TensorProto`` (small: its data is elsewhere) and checked:

* its ``location`` must be a normalised relative name (no absolute path, no
  ``..``, no ``.`` or empty component, no backslash or NUL) and one of the signed
  files offered for the load;
* onnxruntime's in-memory marker ``*/_ORT_MEM_ADDR_/*`` (an offset read as a raw
  pointer) is refused;
* ``offset`` and ``length`` must be decimal integers that lie inside that file.

Malformed wire data (bad varints, truncated fields, groups, nesting deeper than
a limit) is :class:`~verifier.loading.errors.MalformedModel`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from functools import cache

import onnx
from google.protobuf.descriptor import (  # type: ignore[import-untyped]
    Descriptor,
    FieldDescriptor,
)
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from signing.errors import UnsafePathError
from signing.manifest import check_name
from verifier.loading.errors import MalformedModel, UnsafeExternalData

__all__ = ["ExternalReference", "check_bounds", "check_locations", "external_references"]

_MAX_DEPTH = 64
_TENSOR = onnx.TensorProto.DESCRIPTOR
_EXTERNAL_DATA = _TENSOR.fields_by_name["external_data"].number
_DATA_LOCATION = _TENSOR.fields_by_name["data_location"].number
_ORT_MEM_ADDR = "*/_ORT_MEM_ADDR_/*"
_GRAPH_INITIALIZER = (
    onnx.ModelProto.DESCRIPTOR.fields_by_name["graph"].number,
    onnx.GraphProto.DESCRIPTOR.fields_by_name["initializer"].number,
)


@dataclass(frozen=True)
class ExternalReference:
    """One tensor's external data: which signed file, where in it."""

    tensor: str
    location: str
    offset: int
    length: int | None
    dims: tuple[int, ...] = ()
    data_type: int = 0
    initializer: bool = False  # a top-level graph initializer (can be supplied by name)


@cache
def _children(descriptor: Descriptor) -> Mapping[int, Descriptor]:
    """Field number -> message type, for the fields that can lead to a TensorProto."""
    reach: dict[str, bool] = {}

    def can_reach(message: Descriptor) -> bool:
        if message.full_name == _TENSOR.full_name:
            return True
        if message.full_name in reach:
            return reach[message.full_name]
        reach[message.full_name] = False  # cycles (graph -> node -> attribute -> graph)
        result = any(
            can_reach(field.message_type)
            for field in message.fields
            if field.type == FieldDescriptor.TYPE_MESSAGE
        )
        reach[message.full_name] = result
        return result

    return {
        field.number: field.message_type
        for field in descriptor.fields
        if field.type == FieldDescriptor.TYPE_MESSAGE and can_reach(field.message_type)
    }


def _varint(data: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end or shift > 63:
            raise MalformedModel("ONNX model: truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _walk(
    data: memoryview,
    start: int,
    end: int,
    descriptor: Descriptor,
    depth: int,
    found: Callable[[memoryview, tuple[int, ...]], None],
    trail: tuple[int, ...] = (),
) -> None:
    if depth > _MAX_DEPTH:
        raise MalformedModel("ONNX model: messages nested too deeply")
    is_tensor = descriptor.full_name == _TENSOR.full_name
    children = {} if is_tensor else _children(descriptor)
    external = False
    pos = start
    while pos < end:
        key, pos = _varint(data, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos, end)
            if is_tensor and number == _DATA_LOCATION and value != 0:
                external = True
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(data, pos, end)
            if pos + length > end:
                raise MalformedModel("ONNX model: a field runs past its message")
            if is_tensor and number == _EXTERNAL_DATA:
                external = True
            child = children.get(number)
            if child is not None:
                _walk(data, pos, pos + length, child, depth + 1, found, (*trail, number))
            pos += length
        else:
            raise MalformedModel(f"ONNX model: unsupported wire type {wire}")
        if is_tensor and number == _DATA_LOCATION and wire != 0:
            raise MalformedModel("ONNX model: malformed data_location")
    if pos != end:
        raise MalformedModel("ONNX model: a field runs past its message")
    if external:
        found(data[start:end], trail)


def external_references(model: memoryview) -> list[ExternalReference]:
    """Every external-data reference in the serialised ``ModelProto`` ``model``."""
    references: list[ExternalReference] = []

    def found(serialised: memoryview, trail: tuple[int, ...]) -> None:
        tensor = onnx.TensorProto()
        try:
            tensor.ParseFromString(serialised.tobytes())
        except DecodeError as exc:
            raise MalformedModel(f"ONNX model: a tensor does not parse: {exc}") from None
        entries: dict[str, str] = {}
        for entry in tensor.external_data:
            if entry.key in entries:
                raise UnsafeExternalData(f"tensor {tensor.name!r}: duplicate key {entry.key!r}")
            entries[entry.key] = entry.value
        location = entries.get("location")
        if location is None:
            raise UnsafeExternalData(f"tensor {tensor.name!r}: external data without a location")
        references.append(
            ExternalReference(
                tensor=tensor.name,
                location=location,
                offset=_integer(tensor.name, entries, "offset", 0) or 0,
                length=_integer(tensor.name, entries, "length", None),
                dims=tuple(tensor.dims),
                data_type=tensor.data_type,
                initializer=trail == _GRAPH_INITIALIZER,
            )
        )

    _walk(model, 0, len(model), onnx.ModelProto.DESCRIPTOR, 0, found)
    return references


def _integer(tensor: str, entries: Mapping[str, str], key: str, default: int | None) -> int | None:
    text = entries.get(key)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit():
        raise UnsafeExternalData(f"tensor {tensor!r}: external {key} {text!r} is not a number")
    return int(text)


def check_locations(references: Collection[ExternalReference], signed: Collection[str]) -> None:
    """Refuse a location that is unsafe as a name or not among the ``signed`` names."""
    for ref in references:
        if ref.location == _ORT_MEM_ADDR:
            raise UnsafeExternalData(
                f"tensor {ref.tensor!r}: onnxruntime's memory-address marker is refused"
            )
        try:
            check_name(ref.location, allow_single_file=False)
        except UnsafePathError as exc:
            raise UnsafeExternalData(f"tensor {ref.tensor!r}: external location {exc}") from None
        if ref.location not in signed:
            raise UnsafeExternalData(
                f"tensor {ref.tensor!r}: external location {ref.location!r} is not a signed file"
            )


def check_bounds(references: Collection[ExternalReference], sizes: Mapping[str, int]) -> None:
    """Refuse a reference whose bytes lie outside its file (``sizes``: name -> bytes)."""
    for ref in references:
        size = sizes[ref.location]
        end = ref.offset + (ref.length if ref.length is not None else 0)
        if ref.offset > size or end > size:
            raise UnsafeExternalData(
                f"tensor {ref.tensor!r}: bytes {ref.offset}..{end} lie outside "
                f"{ref.location!r} ({size} bytes)"
            )
