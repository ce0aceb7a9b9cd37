"""Extract what a registry indexes from a validated BOM, reading the JSON itself.

cyclonedx-python-lib's reader drops the model card, so it is not used here.
:func:`index_bom` collects, over every component (``metadata.component``,
``components`` and nested ones):

* licences: SPDX ids from ``license.id`` and from the ids inside SPDX
  expressions (canonical case; ``LicenseRef-`` ids kept), plus free-text
  licence names and whole expressions, kept apart;
* suppliers: ``supplier.name`` and ``manufacturer.name`` of the BOM's
  metadata and of every component;
* datasets: ``data`` components that the model card references or that hold a
  ``dataset`` entry, and datasets written inline in a model card, each with
  its URL and hashes;
* ONNX opsets and tensor dtypes from Custody's ``custody:`` properties (see
  :mod:`signing.sbom._taxonomy`): other tools do not record them; dtypes use
  the safetensors spelling (ONNX ``float`` is indexed as ``F32``);
* every component hash, for "which version contains the component with
  digest D" queries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from signing.sbom import _taxonomy as taxonomy
from signing.sbom._schema import spdx_license_ids
from signing.sbom._validate import ValidatedBom
from signing.sbom._walk import components, model_component, properties
from signing.sbom.errors import BomBindingError

__all__ = ["BomIndex", "ComponentHash", "DatasetInfo", "index_bom", "spdx_ids_in_expression"]

_EXPRESSION_TOKEN = re.compile(r"[A-Za-z0-9.+:-]+")
_OPERATORS = {"and", "or", "with"}
# ONNX tensor type names -> the safetensors spelling, so one dtype vocabulary is indexed.
_ONNX_DTYPES = {
    "float": "F32",
    "float16": "F16",
    "bfloat16": "BF16",
    "double": "F64",
    "int8": "I8",
    "int16": "I16",
    "int32": "I32",
    "int64": "I64",
    "uint8": "U8",
    "uint16": "U16",
    "uint32": "U32",
    "uint64": "U64",
    "bool": "BOOL",
    "complex64": "C64",
    "float8e4m3fn": "F8_E4M3",
    "float8e5m2": "F8_E5M2",
    "float8e4m3fnuz": "F8_E4M3FNUZ",
    "float8e5m2fnuz": "F8_E5M2FNUZ",
    "float8e8m0": "F8_E8M0",
    "float4e2m1": "F4",
    "float6e2m3": "F6_E2M3",
    "float6e3m2": "F6_E3M2",
}


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """A dataset named by the BOM."""

    name: str
    url: str | None = None
    bom_ref: str | None = None
    hashes: tuple[tuple[str, str], ...] = ()  # (algorithm, lower-case hex)


@dataclass(frozen=True, slots=True)
class ComponentHash:
    """One hash of one component."""

    component: str  # bom-ref, or the name when there is none
    type: str
    algorithm: str
    content: str  # lower-case hex


@dataclass(frozen=True, slots=True)
class BomIndex:
    """The searchable summary of a BOM; :meth:`to_json` gives a plain dict for storage."""

    spec_version: str
    serial_number: str | None
    bom_version: int
    model_name: str | None = None
    model_version: str | None = None
    model_ref: str | None = None
    licenses: tuple[str, ...] = ()
    model_licenses: tuple[str, ...] = ()
    license_expressions: tuple[str, ...] = ()
    license_names: tuple[str, ...] = ()
    suppliers: tuple[str, ...] = ()
    datasets: tuple[DatasetInfo, ...] = ()
    onnx_opsets: Mapping[str, int] = field(default_factory=dict)
    tensor_dtypes: tuple[str, ...] = ()
    component_hashes: tuple[ComponentHash, ...] = ()
    component_count: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        out["onnx_opsets"] = dict(self.onnx_opsets)
        return out


def spdx_ids_in_expression(expression: str) -> list[str]:
    """Licence ids in an SPDX expression, in canonical case (exceptions after WITH skipped)."""
    known = spdx_license_ids()
    ids: list[str] = []
    after_with = False
    for token in _EXPRESSION_TOKEN.findall(expression):
        lowered = token.lower()
        if lowered in _OPERATORS:
            after_with = lowered == "with"
            continue
        if after_with:
            after_with = False
            continue
        base = lowered.removesuffix("+")
        if lowered in known:
            ids.append(known[lowered])
        elif base in known:  # "<id>+": this version or later
            ids.append(known[base] + "+")
        else:
            ids.append(token)
    return ids


def _licences(component: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    ids: list[str] = []
    expressions: list[str] = []
    names: list[str] = []
    known = spdx_license_ids()
    for choice in component.get("licenses") or []:
        if not isinstance(choice, Mapping):
            continue
        if isinstance(choice.get("expression"), str):
            expressions.append(choice["expression"])
            ids.extend(spdx_ids_in_expression(choice["expression"]))
        licence = choice.get("license")
        if isinstance(licence, Mapping):
            if isinstance(licence.get("id"), str):
                ids.append(known.get(licence["id"].lower(), licence["id"]))
            elif isinstance(licence.get("name"), str):
                names.append(licence["name"])
    return ids, expressions, names


def _name(entity: object) -> str | None:
    if isinstance(entity, Mapping) and isinstance(entity.get("name"), str):
        return str(entity["name"])
    return None


def _hashes(component: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (str(h.get("alg")), str(h.get("content", "")).lower())
        for h in component.get("hashes") or []
        if isinstance(h, Mapping)
    )


def _url(component: Mapping[str, Any]) -> str | None:
    for reference in component.get("externalReferences") or []:
        if isinstance(reference, Mapping) and isinstance(reference.get("url"), str):
            return str(reference["url"])
    for entry in component.get("data") or []:
        contents = entry.get("contents") if isinstance(entry, Mapping) else None
        if isinstance(contents, Mapping) and isinstance(contents.get("url"), str):
            return str(contents["url"])
    return None


def _datasets(document: Mapping[str, Any]) -> list[DatasetInfo]:
    by_ref: dict[str, Mapping[str, Any]] = {}
    data_components: list[Mapping[str, Any]] = []
    cards: list[Mapping[str, Any]] = []
    for component in components(document):
        ref = component.get("bom-ref")
        if isinstance(ref, str):
            by_ref[ref] = component
        if component.get("type") == "data":
            data_components.append(component)
        if isinstance(component.get("modelCard"), Mapping):
            cards.append(component["modelCard"])

    found: dict[tuple[str, str | None], DatasetInfo] = {}

    def add(info: DatasetInfo) -> None:
        found.setdefault((info.name, info.url), info)

    def from_component(component: Mapping[str, Any]) -> DatasetInfo:
        ref = component.get("bom-ref")
        return DatasetInfo(
            name=str(component.get("name", "")),
            url=_url(component),
            bom_ref=ref if isinstance(ref, str) else None,
            hashes=_hashes(component),
        )

    referenced: set[str] = set()
    for card in cards:
        parameters = card.get("modelParameters")
        if not isinstance(parameters, Mapping):
            continue
        for entry in parameters.get("datasets") or []:
            if not isinstance(entry, Mapping):
                continue
            ref = entry.get("ref")
            if isinstance(ref, str):
                referenced.add(ref)
                if ref in by_ref:
                    add(from_component(by_ref[ref]))
                else:
                    add(DatasetInfo(name=ref, bom_ref=ref))
            elif isinstance(entry.get("name"), str):
                contents = entry.get("contents")
                url = contents.get("url") if isinstance(contents, Mapping) else None
                ref_value = entry.get("bom-ref")
                add(
                    DatasetInfo(
                        name=entry["name"],
                        url=url if isinstance(url, str) else None,
                        bom_ref=ref_value if isinstance(ref_value, str) else None,
                    )
                )
    for component in data_components:
        kinds = {
            entry.get("type") for entry in component.get("data") or [] if isinstance(entry, Mapping)
        }
        if component.get("bom-ref") in referenced or "dataset" in kinds:
            add(from_component(component))
    return list(found.values())


def index_bom(bom: ValidatedBom) -> BomIndex:
    """The searchable summary of ``bom`` (which :func:`~signing.sbom.validate_bom` accepted)."""
    document = bom.document
    licences: dict[str, None] = {}
    expressions: dict[str, None] = {}
    names: dict[str, None] = {}
    suppliers: dict[str, None] = {}
    opsets: dict[str, int] = {}
    dtypes: set[str] = set()
    hashes: list[ComponentHash] = []
    count = 0

    metadata = document.get("metadata")
    if isinstance(metadata, Mapping):
        for key in ("supplier", "manufacturer", "manufacture"):
            supplier = _name(metadata.get(key))
            if supplier:
                suppliers.setdefault(supplier, None)

    for component in components(document):
        count += 1
        ids, exprs, free = _licences(component)
        licences.update(dict.fromkeys(ids))
        expressions.update(dict.fromkeys(exprs))
        names.update(dict.fromkeys(free))
        for key in ("supplier", "manufacturer"):
            supplier = _name(component.get(key))
            if supplier:
                suppliers.setdefault(supplier, None)
        label = component.get("bom-ref") or component.get("name") or ""
        hashes.extend(
            ComponentHash(str(label), str(component.get("type", "")), alg, content)
            for alg, content in _hashes(component)
        )
        for name, value in properties(component):
            if not name.startswith(taxonomy.PREFIX):
                continue
            # ASCII digits, at most 9 of them: int() refuses other digits and thousands of
            # them, and the registry indexes opsets in a 32-bit column.
            if name.startswith(taxonomy.ONNX_OPSET) and re.fullmatch(r"[0-9]{1,9}", value):
                domain = name[len(taxonomy.ONNX_OPSET) :]
                opsets[domain] = max(opsets.get(domain, 0), int(value))
            elif name == taxonomy.ST_DTYPES:
                dtypes.update(d for d in value.split(",") if d)
            elif name == taxonomy.ONNX_INITIALIZER_DTYPES:
                dtypes.update(_ONNX_DTYPES.get(d, d.upper()) for d in value.split(",") if d)

    model: Mapping[str, Any] | None
    try:
        model = model_component(document)
    except BomBindingError:
        model = None
    model_licences = _licences(model)[0] if model is not None else []

    def text(key: str) -> str | None:
        value = model.get(key) if model is not None else None
        return value if isinstance(value, str) else None

    return BomIndex(
        spec_version=bom.spec_version,
        serial_number=bom.serial_number,
        bom_version=bom.version,
        model_name=text("name"),
        model_version=text("version"),
        model_ref=text("bom-ref"),
        licenses=tuple(licences),
        model_licenses=tuple(dict.fromkeys(model_licences)),
        license_expressions=tuple(expressions),
        license_names=tuple(names),
        suppliers=tuple(suppliers),
        datasets=tuple(_datasets(document)),
        onnx_opsets=dict(sorted(opsets.items())),
        tensor_dtypes=tuple(sorted(dtypes)),
        component_hashes=tuple(hashes),
        component_count=count,
    )
