"""Describe an ONNX model from its protobuf, never loading external weights.

Only the model's structure is read, from a seekable stream with bounded memory
(:mod:`signing.sbom._onnx_structure`: tensor data is skipped, never loaded), then
parsed with ``onnx``. What is read: IR version, opsets per domain, producer,
graph inputs and outputs with their types and shapes, operator counts over the
graph and every subgraph, initializer dtypes, and every external-data reference.

External-data locations are the dangerous part (onnxruntime resolves them
against a directory of its choosing). Each one must be a normalised relative
POSIX path without ``..`` (checked by :func:`signing.manifest.check_name`),
resolved against the ONNX file's own directory inside the model, and name a
file that is one of the model's files; when the file sizes are known, the
referenced byte range must lie inside that file. Anything else raises
:class:`~signing.sbom.errors.ExternalDataError`.
"""

from __future__ import annotations

import io
import os
import posixpath
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import onnx
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from signing.errors import UnsafePathError
from signing.manifest import check_name
from signing.sbom._onnx_structure import check_text, read_onnx_structure
from signing.sbom.errors import ExternalDataError, OnnxModelError

__all__ = ["ExternalReference", "OnnxInfo", "ValueInfo", "describe_onnx_model", "inspect_onnx"]

_DEFAULT_DOMAIN = "ai.onnx"


@dataclass(frozen=True, slots=True)
class ValueInfo:
    """A graph input or output: its name and a readable type such as ``float[N,3,224,224]``."""

    name: str
    type: str

    def __str__(self) -> str:
        return f"{self.name}: {self.type}"


@dataclass(frozen=True, slots=True)
class ExternalReference:
    """A tensor whose bytes live in another file of the model."""

    tensor: str
    location: str  # as written in the model
    file: str  # model-relative name of the file it resolves to
    offset: int
    length: int | None


@dataclass(frozen=True, slots=True)
class OnnxInfo:
    """What an ONNX file says about itself."""

    ir_version: int
    opsets: Mapping[str, int]
    producer_name: str
    producer_version: str
    inputs: tuple[ValueInfo, ...]
    outputs: tuple[ValueInfo, ...]
    operators: Mapping[str, int]
    node_count: int
    initializer_count: int
    initializer_dtypes: tuple[str, ...]
    external_data: tuple[ExternalReference, ...] = field(default=())

    @property
    def external_files(self) -> tuple[str, ...]:
        """Distinct model-relative files referenced as external data, sorted."""
        return tuple(sorted({ref.file for ref in self.external_data}))


def _dtype_name(elem_type: int) -> str:
    try:
        return str(onnx.TensorProto.DataType.Name(elem_type)).lower()
    except ValueError:
        return f"dtype{elem_type}"


def _describe_type(type_proto: onnx.TypeProto) -> str:
    kind = type_proto.WhichOneof("value")
    if kind in ("tensor_type", "sparse_tensor_type"):
        tensor = getattr(type_proto, kind)
        text = _dtype_name(tensor.elem_type)
        if tensor.HasField("shape"):
            dims = [
                str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                for d in tensor.shape.dim
            ]
            text += "[" + ",".join(dims) + "]"
        return ("sparse " if kind == "sparse_tensor_type" else "") + text
    if kind == "sequence_type":
        return f"sequence<{_describe_type(type_proto.sequence_type.elem_type)}>"
    if kind == "optional_type":
        return f"optional<{_describe_type(type_proto.optional_type.elem_type)}>"
    if kind == "map_type":
        key = _dtype_name(type_proto.map_type.key_type)
        return f"map<{key},{_describe_type(type_proto.map_type.value_type)}>"
    return kind or "unknown"


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """``graph`` and every subgraph held in node attributes (If, Loop, Scan...)."""
    stack = [graph]
    while stack:
        current = stack.pop()
        yield current
        for node in current.node:
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    stack.append(attribute.g)
                stack.extend(attribute.graphs)


def _tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    """Every tensor that can carry data: initializers and attribute tensors, everywhere."""
    nodes: list[onnx.NodeProto] = []
    for graph in _graphs(model.graph):
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        nodes.extend(graph.node)
    for function in model.functions:
        nodes.extend(function.node)
    for node in nodes:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield attribute.sparse_tensor.values
                yield attribute.sparse_tensor.indices
            for sparse in attribute.sparse_tensors:
                yield sparse.values
                yield sparse.indices


def _external_reference(
    label: str,
    tensor: onnx.TensorProto,
    directory: str,
    files: Mapping[str, int | None] | None,
) -> ExternalReference:
    entries = {entry.key: entry.value for entry in tensor.external_data}
    location = entries.get("location", "")

    def fail(reason: str) -> ExternalDataError:
        return ExternalDataError(
            label, f"tensor {tensor.name!r}: external data {location!r} {reason}"
        )

    if not location:
        raise fail("has no location")
    try:
        check_name(location, allow_single_file=False)
    except UnsafePathError as exc:
        raise fail(f"is refused ({exc.reason})") from None
    resolved = posixpath.join(directory, location) if directory else location
    try:
        offset = int(entries.get("offset", "0"))
        length = int(entries["length"]) if "length" in entries else None
    except ValueError:
        raise fail("has a non-integer offset or length") from None
    if offset < 0 or (length is not None and length < 0):
        raise fail("has a negative offset or length")
    if files is not None:
        if resolved not in files:
            raise fail(f"resolves to {resolved!r}, which is not one of the model's files")
        size = files[resolved]
        if size is not None and offset + (length or 0) > size:
            raise fail(
                f"reads bytes [{offset}, {offset + (length or 0)}) past the end of "
                f"{resolved!r} ({size} bytes)"
            )
    return ExternalReference(tensor.name, location, resolved, offset, length)


def inspect_onnx(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    name: str = "",
    files: Mapping[str, int | None] | None = None,
    size: int | None = None,
) -> OnnxInfo:
    """Describe the ONNX model in ``source``: a path, the file's bytes, or a seekable stream.

    Only the model's structure is read (see :mod:`signing.sbom._onnx_structure`):
    memory stays bounded whatever the size of the tensors. For a stream, pass
    ``size`` (its length from offset 0) unless it can seek to its end.

    ``name`` is the file's model-relative name (``"unet/model.onnx"``); external
    locations are resolved against its directory. ``files`` maps each
    model-relative file name to its size (or ``None`` if unknown); every
    external reference must resolve to one of them. With ``files=None`` the
    locations are still checked for safety but not for membership.

    Raises :class:`~signing.sbom.errors.OnnxModelError` or
    :class:`~signing.sbom.errors.ExternalDataError`.
    """
    if isinstance(source, bytes):
        label = name or "ONNX model"
        structure = read_onnx_structure(io.BytesIO(source), len(source), label=label)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or path.name
        try:
            with path.open("rb", buffering=0) as handle:
                structure = read_onnx_structure(
                    handle, os.fstat(handle.fileno()).st_size, label=label
                )
        except OSError as exc:
            raise OnnxModelError(label, f"cannot be read: {exc.strerror}") from exc
    else:
        label = name or "ONNX model"
        if size is None:
            size = source.seek(0, os.SEEK_END)
        structure = read_onnx_structure(source, size, label=label)
    try:
        model = onnx.load_model_from_string(structure)
    except (DecodeError, ValueError, RuntimeError, TypeError) as exc:
        raise OnnxModelError(label, f"is not an ONNX protobuf: {exc}") from None
    return describe_onnx_model(model, name=name, label=label, files=files)


def describe_onnx_model(
    model: onnx.ModelProto,
    *,
    name: str = "",
    label: str = "ONNX model",
    files: Mapping[str, int | None] | None = None,
) -> OnnxInfo:
    """Describe a parsed model (what :func:`inspect_onnx` does after its bounded read)."""
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise OnnxModelError(label, "is not an ONNX model (no IR version or no graph)")
    check_text(model, label)

    directory = posixpath.dirname(name) if name else ""
    external: list[ExternalReference] = []
    dtypes: set[str] = set()
    initializer_count = 0
    for tensor in _tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            external.append(_external_reference(label, tensor, directory, files))
        elif tensor.external_data:
            raise ExternalDataError(
                label, f"tensor {tensor.name!r} lists external data but is not marked EXTERNAL"
            )
    for graph in _graphs(model.graph):
        initializer_count += len(graph.initializer)
        dtypes.update(_dtype_name(t.data_type) for t in graph.initializer)

    operators: Counter[str] = Counter()
    node_count = 0
    for graph in _graphs(model.graph):
        for node in graph.node:
            domain = node.domain if node.domain not in ("", _DEFAULT_DOMAIN) else ""
            operators[f"{domain}:{node.op_type}" if domain else node.op_type] += 1
            node_count += 1

    opsets: dict[str, int] = {}
    for opset in model.opset_import:
        domain = opset.domain or _DEFAULT_DOMAIN
        opsets[domain] = max(opsets.get(domain, 0), int(opset.version))

    initializer_names = {t.name for t in model.graph.initializer}
    return OnnxInfo(
        ir_version=int(model.ir_version),
        opsets=dict(sorted(opsets.items())),
        producer_name=model.producer_name,
        producer_version=model.producer_version,
        inputs=tuple(
            ValueInfo(v.name, _describe_type(v.type))
            for v in model.graph.input
            if v.name not in initializer_names  # IR < 4 lists initializers as inputs
        ),
        outputs=tuple(ValueInfo(v.name, _describe_type(v.type)) for v in model.graph.output),
        operators=dict(sorted(operators.items())),
        node_count=node_count,
        initializer_count=initializer_count,
        initializer_dtypes=tuple(sorted(dtypes)),
        external_data=tuple(external),
    )
