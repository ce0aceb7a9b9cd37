"""The pure-Python schema backend (``jsonschema``), for :mod:`signing.sbom._schema`.

Two keywords are replaced: the stock ``uniqueItems`` compares every pair of items
(quadratic: minutes on a BOM with thousands of components) and ``enum`` scans the
~700 SPDX ids linearly; here both are hash-based. Imported only when this backend
is used (see ``_schema._PythonBackend``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import jsonschema.validators  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry
from referencing.jsonschema import DRAFT7

from signing.sbom._schema import FORMAT_CHECKS, _bom_schema, _shared_resources

__all__ = ["python_backend"]


def _freeze(value: Any) -> Any:
    """A hashable stand-in with JSON Schema equality (1 == 1.0, True != 1)."""
    if isinstance(value, dict):
        return ("o", frozenset((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("a", tuple(_freeze(v) for v in value))
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, float) and value.is_integer():
        return ("n", int(value))
    if isinstance(value, (int, float)):
        return ("n", value)
    return ("s", value)


def _unique_items(
    validator: Any, unique: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not unique or not isinstance(instance, list):
        return
    seen: set[Any] = set()
    for index, item in enumerate(instance):
        frozen = _freeze(item)
        if frozen in seen:
            yield ValidationError(f"item {index} repeats an earlier item (uniqueItems)")
            return
        seen.add(frozen)


_ENUM_SETS: dict[int, tuple[Any, frozenset[str] | None]] = {}
_ENUM_LOCK = threading.Lock()
_STOCK_ENUM = jsonschema.Draft7Validator.VALIDATORS["enum"]


def _enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    cached = _ENUM_SETS.get(id(enums))
    if cached is None or cached[0] is not enums:
        strings = frozenset(enums) if all(isinstance(e, str) for e in enums) else None
        cached = (enums, strings)
        with _ENUM_LOCK:
            _ENUM_SETS[id(enums)] = cached
    strings = cached[1]
    if strings is not None and isinstance(instance, str):
        if instance not in strings:
            shown = instance if len(instance) <= 60 else instance[:57] + "..."
            yield ValidationError(f"{shown!r} is not one of the {len(strings)} allowed values")
        return
    yield from _STOCK_ENUM(validator, enums, instance, schema)


_FastDraft7 = jsonschema.validators.extend(
    jsonschema.Draft7Validator, {"uniqueItems": _unique_items, "enum": _enum}
)


class _PythonBackend:
    name = "jsonschema"

    def __init__(self) -> None:
        checker = jsonschema.FormatChecker(formats=())
        for fmt, check in FORMAT_CHECKS.items():
            checker.checks(fmt)(check)
        self._checker = checker
        # Without their top-level "$schema", referenced schemas are validated by this
        # class too; with it, jsonschema switches to the stock Draft 7 class (and its
        # linear enum) whenever a $ref enters them.
        self._registry: Registry[Any] = Registry().with_resources(
            (uri, DRAFT7.create_resource({k: v for k, v in contents.items() if k != "$schema"}))
            for uri, contents in _shared_resources()
        )

    @functools.cache  # noqa: B019 - one instance per process, cached on purpose
    def _validator(self, spec_version: str) -> Any:
        return _FastDraft7(
            _bom_schema(spec_version), registry=self._registry, format_checker=self._checker
        )

    def violations(self, spec_version: str, document: Any) -> Iterator[tuple[list[Any], str]]:
        for error in self._validator(spec_version).iter_errors(document):
            yield _deepest(error)


def _deepest(error: ValidationError) -> tuple[list[Any], str]:
    """For oneOf/anyOf failures, the most specific sub-error (deepest instance path)."""
    best = error
    stack = list(error.context or ())
    while stack:
        candidate = stack.pop(0)
        if len(candidate.absolute_path) > len(best.absolute_path):
            best = candidate
        stack.extend(candidate.context or ())
    return list(best.absolute_path), str(best.message)


@functools.cache
def python_backend() -> _PythonBackend:
    return _PythonBackend()
