"""Generate a CycloneDX ML-BOM for a model directory or file, from the files' own headers.

What the BOM holds (see :mod:`signing.sbom._taxonomy` for property names):

* ``metadata.component``: a ``machine-learning-model`` component whose SHA-256
  is the model's digest (the OMS root digest of the directory: whole-file
  SHA-256, model_signing's order; or the file's own SHA-256 for a one-file
  model), with supplier, SPDX licences and a ``modelCard`` (approach, task,
  architecture, datasets by reference, input / output formats, considerations);
* one nested ``file`` component per file: SHA-256, media type, size, and what
  its header says (safetensors tensors, ONNX graph facts);
* one ``data`` component per dataset, with its URL and SHA-256 when given.

Weights are never loaded: safetensors headers are parsed by hand and ONNX
protobufs are read without external data. A header that lies (duplicate
tensor names, offsets that overlap, gap or leave the file) or an ONNX
external-data location that escapes the model fails generation.

Files are hashed by :func:`signing.hashing.hash_model`, the engine that OMS
signing uses, with the same default ignore list, so a BOM and a signature of
the same directory carry the same root digest. The result is checked by
:func:`~signing.sbom._validate.validate_bom` and
:func:`~signing.sbom._binding.bind_bom` before it is returned.

Example::

    >>> import tempfile, pathlib
    >>> model = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (model / "config.json").write_text("{}")
    >>> bom = generate_bom(model, BomMetadata(name="demo", licenses=("Apache-2.0",)))
    >>> bom.document["metadata"]["component"]["type"]
    'machine-learning-model'
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import posixpath
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signing.hashing import HashOptions, hash_model
from signing.manifest import (
    DEFAULT_IGNORED_PATHS,
    SINGLE_FILE_NAME,
    Manifest,
    Method,
    Serialization,
)
from signing.sbom import _taxonomy as taxonomy
from signing.sbom._binding import bind_bom
from signing.sbom._index import spdx_ids_in_expression
from signing.sbom._onnx_header import OnnxInfo, inspect_onnx
from signing.sbom._safetensors_header import SafetensorsHeader, read_safetensors_header
from signing.sbom._schema import spdx_license_ids
from signing.sbom._validate import validate_bom
from signing.sbom.errors import BomMetadataError, SbomError

__all__ = [
    "APPROACHES",
    "GENERATED_SPEC_VERSIONS",
    "BomMetadata",
    "Dataset",
    "GeneratedBom",
    "generate_bom",
]

GENERATED_SPEC_VERSIONS: tuple[str, ...] = ("1.6", "1.7")
APPROACHES: tuple[str, ...] = (
    "supervised",
    "unsupervised",
    "reinforcement-learning",
    "semi-supervised",
    "self-supervised",
)

_MEDIA_TYPES = {
    ".json": ("application/json", "json"),
    ".txt": ("text/plain", "text"),
    ".md": ("text/markdown", "text"),
    ".yaml": ("application/yaml", "text"),
    ".yml": ("application/yaml", "text"),
    ".safetensors": ("application/octet-stream", "safetensors"),
    ".onnx": ("application/octet-stream", "onnx"),
}
_BINARY = ("application/octet-stream", "binary")
_LAYER_NUMBER = re.compile(r"(?<=\.)\d+(?=\.|$)")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_METADATA_ENTRIES = 64
_METADATA_VALUE_CHARS = 1024


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset the model was trained or evaluated on."""

    name: str
    url: str | None = None
    sha256: str | None = None

    @classmethod
    def parse(cls, spec: str, sha256: str | None = None) -> Dataset:
        """``NAME`` or ``NAME@URL`` (the first ``@`` splits)."""
        name, _, url = spec.partition("@")
        if not name.strip():
            raise BomMetadataError(f"dataset {spec!r} has no name")
        return cls(name.strip(), url.strip() or None, sha256)


@dataclass(frozen=True, slots=True)
class BomMetadata:
    """What the files cannot tell: names, supplier, licences, model card text."""

    name: str | None = None
    version: str | None = None
    supplier: str | None = None
    description: str | None = None
    licenses: tuple[str, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    approach: str | None = None
    task: str | None = None
    architecture_family: str | None = None
    model_architecture: str | None = None
    input_formats: tuple[str, ...] = ()
    output_formats: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    use_cases: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GeneratedBom:
    """A generated BOM: the document, its bytes, and the digests it was built from."""

    document: Mapping[str, Any]
    model_digest: str
    manifest: Manifest
    files: Mapping[str, str] = field(default_factory=dict)  # name -> sha256 hex

    def to_bytes(self) -> bytes:
        """UTF-8 JSON, indented, with a final newline (what ``custody sbom`` writes)."""
        return json.dumps(self.document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def _tool_version() -> str:
    try:
        return importlib.metadata.version("custody")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0+unknown"


def _prop(name: str, value: object) -> dict[str, str]:
    return {"name": name, "value": str(value)}


def _licence_choices(values: Sequence[str]) -> list[dict[str, Any]]:
    if not values:
        return []
    known = spdx_license_ids()
    ids = [known.get(v.strip().lower()) for v in values]
    if all(ids):
        return [{"license": {"id": i}} for i in dict.fromkeys(i for i in ids if i)]
    if len(values) > 1:
        raise BomMetadataError(
            "give either SPDX licence ids (repeatable) or exactly one SPDX expression; "
            f"got {list(values)!r}"
        )
    expression = " ".join(values[0].split())
    for token in spdx_ids_in_expression(expression):
        if token.lower().rstrip("+") not in known and not token.startswith(
            ("LicenseRef-", "DocumentRef-")
        ):
            raise BomMetadataError(
                f"licence {token!r} is not an SPDX id (use an SPDX id, an SPDX expression, "
                "or LicenseRef-<name> for a licence SPDX does not list)"
            )
    return [{"expression": expression}]


def _dims(shape: Sequence[int]) -> str:
    return "[" + ",".join(map(str, shape)) + "]"


def _tensor_lines(header: SafetensorsHeader, limit: int) -> tuple[list[str], int]:
    """Listing lines for the tensors by name, grouped by layer pattern when there are too many."""
    tensors = sorted(header.tensors, key=lambda t: t.name)
    if len(tensors) <= limit:
        return [f"{t.dtype}{_dims(t.shape)} {t.name}" for t in tensors], 0
    groups: dict[tuple[str, str, tuple[int, ...]], int] = {}
    for tensor in tensors:
        key = (_LAYER_NUMBER.sub("*", tensor.name), tensor.dtype, tensor.shape)
        groups[key] = groups.get(key, 0) + 1
    lines: list[str] = []
    omitted = 0
    for index, ((pattern, dtype, shape), count) in enumerate(sorted(groups.items())):
        if index >= limit:
            omitted += count
            continue
        times = f" x{count}" if count > 1 else ""
        lines.append(f"{dtype}{_dims(shape)}{times} {pattern}")
    return lines, omitted


def _safetensors_properties(header: SafetensorsHeader, limit: int) -> list[dict[str, str]]:
    props = [
        _prop(taxonomy.ST_TENSOR_COUNT, len(header.tensors)),
        _prop(taxonomy.ST_PARAMETER_COUNT, header.parameter_count),
        _prop(taxonomy.ST_DTYPES, ",".join(header.dtype_counts)),
    ]
    lines, omitted = _tensor_lines(header, limit)
    props += [_prop(taxonomy.ST_TENSOR, line) for line in lines]
    if omitted:
        props.append(_prop(taxonomy.ST_TENSORS_OMITTED, omitted))
    for key, value in list(header.metadata.items())[:_METADATA_ENTRIES]:
        if len(value) > _METADATA_VALUE_CHARS:
            value = f"{value[:_METADATA_VALUE_CHARS]}... ({len(value)} characters in all)"
        props.append(_prop(taxonomy.ST_METADATA + key, value))
    return props


def _onnx_properties(info: OnnxInfo) -> list[dict[str, str]]:
    props = [_prop(taxonomy.ONNX_IR_VERSION, info.ir_version)]
    props += [_prop(taxonomy.ONNX_OPSET + domain, v) for domain, v in info.opsets.items()]
    producer = f"{info.producer_name} {info.producer_version}".strip()
    if producer:
        props.append(_prop(taxonomy.ONNX_PRODUCER, producer))
    props += [_prop(taxonomy.ONNX_INPUT, v) for v in info.inputs]
    props += [_prop(taxonomy.ONNX_OUTPUT, v) for v in info.outputs]
    props += [_prop(taxonomy.ONNX_OPERATOR, f"{op}={n}") for op, n in info.operators.items()]
    props.append(_prop(taxonomy.ONNX_NODE_COUNT, info.node_count))
    if info.initializer_dtypes:
        props.append(_prop(taxonomy.ONNX_INITIALIZER_DTYPES, ",".join(info.initializer_dtypes)))
    props += [_prop(taxonomy.ONNX_EXTERNAL_DATA, f) for f in info.external_files]
    return props


def _dataset_component(dataset: Dataset) -> dict[str, Any]:
    component: dict[str, Any] = {
        "type": "data",
        "bom-ref": f"dataset:{dataset.name}",
        "name": dataset.name,
    }
    if dataset.sha256 is not None:
        if _HEX64.fullmatch(dataset.sha256) is None:
            raise BomMetadataError(f"dataset {dataset.name!r}: {dataset.sha256!r} is not SHA-256")
        component["hashes"] = [{"alg": "SHA-256", "content": dataset.sha256.lower()}]
    if dataset.url:
        component["externalReferences"] = [{"type": "distribution", "url": dataset.url}]
    entry: dict[str, Any] = {"type": "dataset", "name": dataset.name}
    if dataset.url:
        entry["contents"] = {"url": dataset.url}
    component["data"] = [entry]
    return component


def _model_card(
    metadata: BomMetadata, refs: Sequence[str], onnx_infos: Sequence[OnnxInfo]
) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    if metadata.approach:
        if metadata.approach not in APPROACHES:
            raise BomMetadataError(
                f"approach {metadata.approach!r} is not one of {', '.join(APPROACHES)}"
            )
        parameters["approach"] = {"type": metadata.approach}
    for key, value in (
        ("task", metadata.task),
        ("architectureFamily", metadata.architecture_family),
        ("modelArchitecture", metadata.model_architecture),
    ):
        if value:
            parameters[key] = value
    if refs:
        parameters["datasets"] = [{"ref": ref} for ref in refs]
    inputs = list(metadata.input_formats)
    outputs = list(metadata.output_formats)
    if len(onnx_infos) == 1:  # one graph: its signature is the model's
        inputs = inputs or [str(v) for v in onnx_infos[0].inputs]
        outputs = outputs or [str(v) for v in onnx_infos[0].outputs]
    if inputs:
        parameters["inputs"] = [{"format": f} for f in inputs]
    if outputs:
        parameters["outputs"] = [{"format": f} for f in outputs]
    card: dict[str, Any] = {}
    if parameters:
        card["modelParameters"] = parameters
    considerations = {
        key: list(values)
        for key, values in (
            ("users", metadata.users),
            ("useCases", metadata.use_cases),
            ("technicalLimitations", metadata.limitations),
        )
        if values
    }
    if considerations:
        card["considerations"] = considerations
    return card


def _timestamp(when: dt.datetime | None) -> str:
    when = when or dt.datetime.now(dt.UTC)
    if when.tzinfo is None:
        raise BomMetadataError("the BOM timestamp must be timezone-aware")
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_bom(
    model_path: str | os.PathLike[str],
    metadata: BomMetadata | None = None,
    *,
    spec_version: str = "1.6",
    ignore: Iterable[str] = (),
    ignore_git_paths: bool = True,
    options: HashOptions | None = None,
    serial_number: str | None = None,
    timestamp: dt.datetime | None = None,
    max_listed_tensors: int = 256,
    manifest: Manifest | None = None,
) -> GeneratedBom:
    """Hash ``model_path``, read its headers and build a validated CycloneDX ML-BOM.

    ``manifest`` is an already computed per-file sha256 manifest of the same
    tree (``custody publish`` hashes once and shares it); it is then not re-hashed.

    ``ignore`` names model-relative paths to leave out (as ``custody sign``
    does); ``.git`` and friends are left out unless ``ignore_git_paths`` is
    false. ``serial_number`` (``urn:uuid:...``) and ``timestamp`` default to
    a random UUID and now.

    Raises :class:`~signing.sbom.errors.ModelFileError` subclasses for a
    malformed or lying header or an unsafe external-data location,
    :class:`~signing.sbom.errors.BomMetadataError` for unusable metadata,
    and the hashing engine's :class:`~signing.errors.SigningError` subclasses
    for an unusable model tree.
    """
    metadata = metadata or BomMetadata()
    if spec_version not in GENERATED_SPEC_VERSIONS:
        raise BomMetadataError(
            f"spec version {spec_version!r}: generation supports "
            f"{', '.join(GENERATED_SPEC_VERSIONS)}"
        )
    root = Path(model_path)
    ignored = list(ignore)
    if ignore_git_paths:
        ignored += DEFAULT_IGNORED_PATHS
    serialization = Serialization.files("sha256").with_ignored(ignored)
    if manifest is None:
        manifest = hash_model(root, serialization, options=options)
    elif (
        manifest.serialization.method is not Method.FILES
        or manifest.serialization.resource_algorithm != "sha256"
    ):
        raise BomMetadataError("a shared manifest must be per-file sha256")
    single = root.is_file()

    digests: dict[str, str] = {}
    paths: dict[str, Path] = {}
    for resource in manifest.resources:
        name = root.name if resource.name == SINGLE_FILE_NAME else resource.name
        digests[name] = resource.hex
        paths[name] = root if single else root / resource.name
    if not digests:
        raise SbomError(f"the model at {str(root)!r} has no files to describe")
    sizes = {name: path.stat().st_size for name, path in paths.items()}
    model_digest = next(iter(digests.values())) if single else manifest.root_digest().hex()

    formats: dict[str, str] = {}
    file_props: dict[str, list[dict[str, str]]] = {name: [] for name in digests}
    onnx_infos: list[OnnxInfo] = []
    external_files: set[str] = set()
    parameter_count = 0
    any_safetensors = False
    for name in digests:
        media_type, kind = _MEDIA_TYPES.get(posixpath.splitext(name)[1].lower(), _BINARY)
        formats[name] = media_type
        file_props[name].append(_prop(taxonomy.FILE_SIZE, sizes[name]))
        if kind == "safetensors":
            header = read_safetensors_header(paths[name], name=name)
            file_props[name] += _safetensors_properties(header, max_listed_tensors)
            parameter_count += header.parameter_count
            any_safetensors = True
        elif kind == "onnx":
            info = inspect_onnx(paths[name], name=name, files=dict(sizes))
            file_props[name] += _onnx_properties(info)
            onnx_infos.append(info)
            external_files.update(info.external_files)
        file_props[name].insert(1, _prop(taxonomy.FILE_FORMAT, kind))
    for name in external_files:
        file_props[name][1] = _prop(taxonomy.FILE_FORMAT, "onnx-external-data")

    seen_datasets: set[str] = set()
    dataset_components = []
    for dataset in metadata.datasets:
        if dataset.name in seen_datasets:
            raise BomMetadataError(f"dataset {dataset.name!r} is given twice")
        seen_datasets.add(dataset.name)
        dataset_components.append(_dataset_component(dataset))

    default_name = root.stem if single else (root.resolve().name or "model")
    model: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": "model",
        "name": metadata.name or default_name,
    }
    if metadata.version:
        model["version"] = metadata.version
    if metadata.supplier:
        model["supplier"] = {"name": metadata.supplier}
    if metadata.description:
        model["description"] = metadata.description
    model["hashes"] = [{"alg": "SHA-256", "content": model_digest}]
    licences = _licence_choices(metadata.licenses)
    if licences:
        model["licenses"] = licences
    model_props = [_prop(taxonomy.MODEL_DIGEST, "file-sha256" if single else "oms-root-sha256")]
    if any_safetensors:
        model_props.append(_prop(taxonomy.MODEL_PARAMETER_COUNT, parameter_count))
    model["properties"] = model_props
    card = _model_card(metadata, [c["bom-ref"] for c in dataset_components], onnx_infos)
    if card:
        model["modelCard"] = card
    model["components"] = [
        {
            "type": "file",
            "bom-ref": f"file:{name}",
            "name": name,
            "mime-type": formats[name],
            "hashes": [{"alg": "SHA-256", "content": digest}],
            "properties": file_props[name],
        }
        for name, digest in digests.items()
    ]

    document_metadata: dict[str, Any] = {
        "timestamp": _timestamp(timestamp),
        "tools": {
            "components": [{"type": "application", "name": "custody", "version": _tool_version()}]
        },
        "component": model,
    }
    if metadata.supplier:
        document_metadata["supplier"] = {"name": metadata.supplier}
    document: dict[str, Any] = {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec_version}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec_version,
        "serialNumber": serial_number or f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": document_metadata,
    }
    if dataset_components:
        document["components"] = dataset_components

    generated = GeneratedBom(document, model_digest, manifest, digests)
    checked = validate_bom(generated.to_bytes())
    bind_bom(checked, digests.items(), root_digest=manifest.root_digest().hex())
    return generated
