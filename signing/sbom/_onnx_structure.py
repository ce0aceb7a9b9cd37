"""Read an ONNX model's structure from a seekable stream, never its tensor data.

``onnx.load`` parses the whole file: a model of N bytes costs at least 2N of
memory (the bytes, then the parsed message). The checks and the ML-BOM only
need the structure -- opsets, producer, graph inputs and outputs, operators,
and each tensor's name, type, dims and external-data entries -- so this module
walks the protobuf wire format from a file object and writes a *skeleton*: the
same ``ModelProto`` serialised with only the fields :func:`inspect_onnx
<signing.sbom._onnx_header.inspect_onnx>` reads. Everything else is skipped by
seeking past it (``raw_data``, ``float_data``..., doc strings, node names,
string attributes); the skeleton is then parsed by ``onnx`` itself, so the
fields kept mean exactly what they mean to ``onnx.load``.

Memory is one read buffer plus the skeleton, whatever the file's size; the
skeleton is capped (:data:`MAX_STRUCTURE_BYTES`). The walk refuses what the
protobuf parser refuses, so a file ``onnx.load`` cannot read is not passed as a
model: truncated or overlong fields, bad varints, field number 0, unclosed groups,
stray group ends and unknown wire types, packed arrays that do not decode, messages nested deeper
than protobuf's own limit. Skipped message fields are still walked (their wire
format checked, nothing kept); skipped byte and string fields are not read at
all. Every failure is :class:`~signing.sbom.errors.OnnxModelError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import BinaryIO

import onnx
from google.protobuf.descriptor import (  # type: ignore[import-untyped]
    Descriptor,
    FieldDescriptor,
)
from google.protobuf.message import Message  # type: ignore[import-untyped]

from signing.sbom.errors import OnnxModelError

__all__ = ["MAX_STRUCTURE_BYTES", "check_text", "read_onnx_structure"]

#: Most bytes of structure kept (graph, names, types; no tensor data). Real models
#: stay far below: a graph of 100,000 nodes is a few megabytes.
MAX_STRUCTURE_BYTES = 64 * 1024 * 1024
_MAX_DEPTH = 100  # protobuf's own recursion limit
_CHUNK = 256 * 1024
_MAX_FIELD_NUMBER = (1 << 29) - 1
_LONG_VARINT = re.compile(rb"[\x80-\xff]{10}")

# What the inspection reads, per message. A field whose type is itself listed is
# walked and rebuilt; any other kept field is copied as it is.
_KEEP: Mapping[str, frozenset[str]] = {
    "onnx.ModelProto": frozenset(
        {"ir_version", "opset_import", "producer_name", "producer_version", "graph", "functions"}
    ),
    "onnx.GraphProto": frozenset({"node", "initializer", "sparse_initializer", "input", "output"}),
    "onnx.NodeProto": frozenset({"op_type", "domain", "attribute"}),
    "onnx.AttributeProto": frozenset(
        {"t", "g", "tensors", "graphs", "sparse_tensor", "sparse_tensors"}
    ),
    "onnx.FunctionProto": frozenset({"node"}),
    "onnx.TensorProto": frozenset({"dims", "data_type", "name", "external_data", "data_location"}),
    "onnx.SparseTensorProto": frozenset({"values", "indices", "dims"}),
    "onnx.ValueInfoProto": frozenset({"name", "type"}),
}

_FIXED_SIZE = {
    FieldDescriptor.TYPE_DOUBLE: 8,
    FieldDescriptor.TYPE_FIXED64: 8,
    FieldDescriptor.TYPE_SFIXED64: 8,
    FieldDescriptor.TYPE_FLOAT: 4,
    FieldDescriptor.TYPE_FIXED32: 4,
    FieldDescriptor.TYPE_SFIXED32: 4,
}
_VARINT_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_BOOL,
        FieldDescriptor.TYPE_ENUM,
    }
)


class _Action(Enum):
    REBUILD = 1  # a kept message whose own fields are filtered
    COPY = 2  # kept as it is
    WALK = 3  # a message not kept: its wire format is checked
    PACKED_FIXED = 4  # a repeated fixed-size number: the length must be a multiple
    PACKED_VARINT = 5  # a repeated varint: the run must decode
    SKIP = 6


@dataclass(frozen=True, slots=True)
class _Field:
    action: _Action
    message: Descriptor | None = None
    width: int = 0


@cache
def _plan(descriptor: Descriptor, keeping: bool) -> Mapping[int, _Field]:
    kept = _KEEP.get(descriptor.full_name, frozenset()) if keeping else frozenset()
    plan: dict[int, _Field] = {}
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.name in kept and field.message_type.full_name in _KEEP:
                plan[field.number] = _Field(_Action.REBUILD, field.message_type)
            elif field.name in kept:
                plan[field.number] = _Field(_Action.COPY)
            else:
                plan[field.number] = _Field(_Action.WALK, field.message_type)
        elif field.name in kept:
            plan[field.number] = _Field(_Action.COPY)
        elif field.is_repeated and field.type in _FIXED_SIZE:
            plan[field.number] = _Field(_Action.PACKED_FIXED, width=_FIXED_SIZE[field.type])
        elif field.is_repeated and field.type in _VARINT_TYPES:
            plan[field.number] = _Field(_Action.PACKED_VARINT)
    return plan


def _varint_bytes(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class _Walker:
    def __init__(self, stream: BinaryIO, size: int, label: str, limit: int) -> None:
        self._stream = stream
        self._size = size
        self._label = label
        self._limit = limit
        self._kept = 0
        self._pos = 0
        self._buffer = b""
        self._buffer_at = 0

    def fail(self, reason: str) -> OnnxModelError:
        return OnnxModelError(self._label, f"is not an ONNX protobuf: {reason}")

    # -- reading ---------------------------------------------------------------

    def _read_at(self, position: int, count: int) -> bytes:
        self._stream.seek(position)
        parts: list[bytes] = []
        remaining = count
        while remaining:
            data = self._stream.read(remaining)
            if not data:
                raise self.fail(f"the file ends before byte {position + count}")
            parts.append(data)
            remaining -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _byte(self) -> int:
        index = self._pos - self._buffer_at
        if not 0 <= index < len(self._buffer):
            self._buffer_at = self._pos
            self._buffer = self._read_at(self._pos, min(_CHUNK, self._size - self._pos))
            index = 0
        self._pos += 1
        return self._buffer[index]

    def _take(self, count: int) -> bytes:
        index = self._pos - self._buffer_at
        if index >= 0 and index + count <= len(self._buffer):
            data = self._buffer[index : index + count]
        else:
            data = self._read_at(self._pos, count)
        self._pos += count
        return data

    def _varint(self, end: int) -> int:
        result = 0
        for shift in range(0, 70, 7):
            if self._pos >= end:
                raise self.fail(f"a varint is cut off at byte {self._pos}")
            byte = self._byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
        raise self.fail(f"a varint longer than 10 bytes ends at byte {self._pos}")

    def _check_varint_run(self, count: int) -> None:
        """A packed run of varints decodes: no varint over 10 bytes, none cut off."""
        if not count:
            return
        tail = b""
        end = self._pos + count
        while self._pos < end:
            piece = self._take(min(_CHUNK, end - self._pos))
            if _LONG_VARINT.search(tail + piece):
                raise self.fail(f"a packed varint longer than 10 bytes before byte {self._pos}")
            tail = piece[-9:]
        if tail[-1] & 0x80:
            raise self.fail(f"a packed varint is cut off at byte {self._pos}")

    # -- walking ---------------------------------------------------------------

    def _room(self, count: int) -> None:
        if self._kept + count > self._limit:
            raise OnnxModelError(
                self._label,
                f"its structure (without tensor data) exceeds the {self._limit}-byte limit",
            )

    def _keep(self, parts: list[bytes], *pieces: bytes) -> None:
        count = sum(len(piece) for piece in pieces)
        self._room(count)
        self._kept += count
        parts.extend(pieces)

    def message(
        self, descriptor: Descriptor, end: int, depth: int, parts: list[bytes] | None
    ) -> None:
        """Walk one message up to ``end``; append its kept fields to ``parts`` (if any)."""
        if depth > _MAX_DEPTH:
            raise self.fail(f"messages are nested more than {_MAX_DEPTH} deep")
        plan = _plan(descriptor, parts is not None)
        while self._pos < end:
            key = self._varint(end)
            number, wire = key >> 3, key & 7
            if number == 0 or number > _MAX_FIELD_NUMBER:
                raise self.fail(f"field number {number} at byte {self._pos}")
            field = plan.get(number, _Field(_Action.SKIP))
            copy = parts is not None and field.action is _Action.COPY
            tag = _varint_bytes(key)
            if wire == 0:
                value = self._varint(end)
                if copy and parts is not None:
                    self._keep(parts, tag, _varint_bytes(value))
            elif wire in (1, 5):
                width = 8 if wire == 1 else 4
                if self._pos + width > end:
                    raise self.fail(f"a fixed-width field runs past its message at byte {end}")
                if copy and parts is not None:
                    self._keep(parts, tag, self._take(width))
                else:
                    self._pos += width
            elif wire == 2:
                length = self._varint(end)
                stop = self._pos + length
                if stop > end:
                    raise self.fail(f"a {length}-byte field runs past its message at byte {end}")
                self._length_delimited(field, tag, length, stop, depth, parts)
            elif wire == 3:
                self._group(number, end, depth + 1)  # unknown to onnx: checked, dropped
            else:
                raise self.fail(f"wire type {wire} at byte {self._pos}")
        if self._pos != end:  # pragma: no cover - every branch above checks its end
            raise self.fail(f"a field runs past its message at byte {end}")

    def _group(self, number: int, end: int, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise self.fail(f"messages are nested more than {_MAX_DEPTH} deep")
        while self._pos < end:
            key = self._varint(end)
            inner, wire = key >> 3, key & 7
            if inner == 0 or inner > _MAX_FIELD_NUMBER:
                raise self.fail(f"field number {inner} at byte {self._pos}")
            if wire == 0:
                self._varint(end)
            elif wire in (1, 5):
                self._pos += 8 if wire == 1 else 4
            elif wire == 2:
                self._pos += self._varint(end)
            elif wire == 3:
                self._group(inner, end, depth + 1)
            elif wire == 4 and inner == number:
                return
            else:
                raise self.fail(f"wire type {wire} at byte {self._pos}")
            if self._pos > end:
                raise self.fail(f"a field runs past its message at byte {end}")
        raise self.fail(f"group {number} is not closed before byte {end}")

    def _length_delimited(
        self,
        field: _Field,
        tag: bytes,
        length: int,
        stop: int,
        depth: int,
        parts: list[bytes] | None,
    ) -> None:
        if parts is not None and field.action is _Action.REBUILD and field.message is not None:
            child: list[bytes] = []
            self.message(field.message, stop, depth + 1, child)
            body = b"".join(child)  # already counted, field by field
            self._keep(parts, tag, _varint_bytes(len(body)))
            parts.append(body)
        elif parts is not None and field.action is _Action.COPY:
            self._room(length)  # before reading it
            self._keep(parts, tag, _varint_bytes(length), self._take(length))
        elif field.action in (_Action.WALK, _Action.REBUILD) and field.message is not None:
            self.message(field.message, stop, depth + 1, None)
        elif field.action is _Action.PACKED_FIXED and length % field.width:
            raise self.fail(f"a packed array of {length} bytes is not of {field.width}-byte items")
        elif field.action is _Action.PACKED_VARINT:
            self._check_varint_run(length)
        self._pos = stop


def read_onnx_structure(
    stream: BinaryIO, size: int, *, label: str = "ONNX model", limit: int = MAX_STRUCTURE_BYTES
) -> bytes:
    """The ``ModelProto`` in ``stream`` (``size`` bytes from offset 0), without tensor data.

    The result parses with ``onnx.ModelProto.ParseFromString`` and holds every
    field :func:`~signing.sbom._onnx_header.inspect_onnx` reads, with the same
    values ``onnx.load`` would give. Raises
    :class:`~signing.sbom.errors.OnnxModelError` if the stream is not a
    well-formed protobuf or its structure exceeds ``limit`` bytes.
    """
    walker = _Walker(stream, size, label, limit)
    parts: list[bytes] = []
    walker.message(onnx.ModelProto.DESCRIPTOR, size, 0, parts)
    return b"".join(parts)


def check_text(message: Message, label: str) -> None:
    """Refuse a string the inspection reads that is not UTF-8.

    ``onnx.proto`` is proto2, whose parser hands invalid UTF-8 back as ``bytes``
    instead of failing; a name that is not text is refused here, by the same
    rule whether the message is a skeleton or a whole model.
    """
    kept = _KEEP.get(message.DESCRIPTOR.full_name)
    for field, value in message.ListFields():
        if kept is not None and field.name not in kept:
            continue
        values = value if field.is_repeated else [value]
        if field.type == FieldDescriptor.TYPE_STRING:
            if not all(isinstance(item, str) for item in values):
                raise OnnxModelError(label, f"its {field.full_name} is not valid UTF-8")
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in values:
                check_text(item, label)
