"""CycloneDX ML-BOMs: generate them from model files, and validate, bind and index uploads.

Generation (:func:`generate_bom`) reads only the files' headers (safetensors
headers by hand, ONNX protobufs without external data) and hashes the files
with the same engine as OMS signing. Ingestion is three pure functions a
registry calls in order, off its event loop:

1. :func:`validate_bom` (bytes -> :class:`ValidatedBom`): size, JSON, nesting,
   ``bomFormat``, ``specVersion`` 1.4-1.7, the bundled CycloneDX schema with
   fast format checks, unique ``bom-ref``;
2. :func:`bind_bom` (BOM + the version's ``(name, sha256)`` files): the model
   component describes exactly those bytes, else the first difference is named;
3. :func:`index_bom` (-> :class:`BomIndex`): licences, suppliers, datasets,
   ONNX opsets, tensor dtypes and component hashes, read from the JSON.

Example::

    >>> import tempfile, pathlib
    >>> from signing.sbom import BomMetadata, bind_bom, generate_bom, index_bom, validate_bom
    >>> model = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (model / "config.json").write_text("{}")
    >>> generated = generate_bom(model, BomMetadata(name="demo", licenses=("MIT",)))
    >>> bom = validate_bom(generated.to_bytes())
    >>> bind_bom(bom, generated.files.items()).method
    'files+root'
    >>> index_bom(bom).licenses
    ('MIT',)
"""

# Names are imported from their modules on first use (PEP 562): the schema
# validation stack (jsonschema, its format checkers) costs seconds to import, and
# a registry that only reads safetensors/ONNX headers at push should not pay it
# at start-up. Only names other packages use are here; the rest (GeneratedBom,
# TensorInfo, the spec-version tables...) are imported from their own modules.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signing.sbom._binding import bind_bom, oms_root_digest
    from signing.sbom._index import BomIndex, index_bom
    from signing.sbom._onnx_header import inspect_onnx
    from signing.sbom._safetensors_header import parse_safetensors_header, read_safetensors_header
    from signing.sbom._validate import BomLimits, ValidatedBom, validate_bom
    from signing.sbom.errors import (
        BomBindingError,
        BomDigestMismatch,
        BomMetadataError,
        BomNotCycloneDx,
        BomNotJson,
        BomRejected,
        BomSchemaError,
        BomTooDeep,
        BomTooLarge,
        DuplicateBomRef,
        ExternalDataError,
        MissingBomHashes,
        OnnxModelError,
        SafetensorsHeaderError,
        SbomError,
        UnsupportedSpecVersion,
    )
    from signing.sbom.generate import BomMetadata, Dataset, generate_bom

_LAZY: dict[str, str] = {
    "BomBindingError": "signing.sbom.errors",
    "BomDigestMismatch": "signing.sbom.errors",
    "BomIndex": "signing.sbom._index",
    "BomLimits": "signing.sbom._validate",
    "BomMetadata": "signing.sbom.generate",
    "BomMetadataError": "signing.sbom.errors",
    "BomNotCycloneDx": "signing.sbom.errors",
    "BomNotJson": "signing.sbom.errors",
    "BomRejected": "signing.sbom.errors",
    "BomSchemaError": "signing.sbom.errors",
    "BomTooDeep": "signing.sbom.errors",
    "BomTooLarge": "signing.sbom.errors",
    "Dataset": "signing.sbom.generate",
    "DuplicateBomRef": "signing.sbom.errors",
    "ExternalDataError": "signing.sbom.errors",
    "MissingBomHashes": "signing.sbom.errors",
    "OnnxModelError": "signing.sbom.errors",
    "SafetensorsHeaderError": "signing.sbom.errors",
    "SbomError": "signing.sbom.errors",
    "UnsupportedSpecVersion": "signing.sbom.errors",
    "ValidatedBom": "signing.sbom._validate",
    "bind_bom": "signing.sbom._binding",
    "generate_bom": "signing.sbom.generate",
    "index_bom": "signing.sbom._index",
    "inspect_onnx": "signing.sbom._onnx_header",
    "oms_root_digest": "signing.sbom._binding",
    "parse_safetensors_header": "signing.sbom._safetensors_header",
    "read_safetensors_header": "signing.sbom._safetensors_header",
    "validate_bom": "signing.sbom._validate",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'signing.sbom' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BomBindingError",
    "BomDigestMismatch",
    "BomIndex",
    "BomLimits",
    "BomMetadata",
    "BomMetadataError",
    "BomNotCycloneDx",
    "BomNotJson",
    "BomRejected",
    "BomSchemaError",
    "BomTooDeep",
    "BomTooLarge",
    "Dataset",
    "DuplicateBomRef",
    "ExternalDataError",
    "MissingBomHashes",
    "OnnxModelError",
    "SafetensorsHeaderError",
    "SbomError",
    "UnsupportedSpecVersion",
    "ValidatedBom",
    "bind_bom",
    "generate_bom",
    "index_bom",
    "inspect_onnx",
    "oms_root_digest",
    "parse_safetensors_header",
    "read_safetensors_header",
    "validate_bom",
]
