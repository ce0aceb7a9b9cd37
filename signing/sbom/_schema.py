"""The CycloneDX JSON schemas bundled with cyclonedx-python-lib, and fast validators for them.

Two backends produce the same verdicts:

* ``jsonschema-rs`` (Rust) when it is installed: a 5 MB BOM in ~0.1 s;
* ``jsonschema`` (pure Python) otherwise, with two keywords replaced: the
  stock ``uniqueItems`` compares every pair of items (quadratic: minutes on a
  BOM with thousands of components) and ``enum`` scans the ~700 SPDX ids
  linearly; here both are hash-based.

Both use the format checks below instead of the stock ones: the default
``iri-reference`` checker parses every URL with a grammar engine and is what
makes cyclonedx-python-lib's validator take minutes on a large BOM. These are
single regular expressions that enforce the same character-level rules
(no spaces, no control or excluded characters, well-formed percent escapes, a
valid scheme when one is present).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from cyclonedx.schema import SchemaVersion
from cyclonedx.schema._res import BOM_JSON, CRYPTOGRAPHY_DEFS, JSF, SPDX_JSON

__all__ = [
    "FORMAT_CHECKS",
    "SUPPORTED_SPEC_VERSIONS",
    "SchemaBackend",
    "available_backends",
    "iter_violations",
    "spdx_license_ids",
]

SUPPORTED_SPEC_VERSIONS: tuple[str, ...] = ("1.4", "1.5", "1.6", "1.7")
_SCHEMA_PREFIX = "http://cyclonedx.org/schema/"
_SHARED_SCHEMAS = {
    "spdx.SNAPSHOT.schema.json": SPDX_JSON,
    "jsf-0.82.SNAPSHOT.schema.json": JSF,
    "cryptography-defs.SNAPSHOT.schema.json": CRYPTOGRAPHY_DEFS,
}

# --- format checks ------------------------------------------------------------

_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# Characters RFC 3987 / RFC 3986 never allow in a reference: controls, space,
# the excluded delimiters, and '%' not followed by two hex digits.
_IRI_BAD = re.compile(r'[\x00-\x20\x7f-\x9f<>"{}|\\^`]|%(?![0-9A-Fa-f]{2})')
_URI_BAD = re.compile(r'[^\x21-\x7e]|[<>"{}|\\^`]|%(?![0-9A-Fa-f]{2})')
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _check_date_time(value: str) -> bool:
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    hour, minute, second = (int(g) for g in match.group(1, 2, 3))
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second is legal in RFC 3339
        return False
    try:
        dt.date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _check_date(value: str) -> bool:
    if _DATE.fullmatch(value) is None:
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _scheme_ok(value: str) -> bool:
    # A ':' before any '/', '?' or '#' ends a scheme, which must then be well formed
    # (a relative reference cannot have a ':' in its first segment).
    head = re.split(r"[/?#]", value, maxsplit=1)[0]
    if ":" not in head:
        return True
    return _SCHEME.fullmatch(head.split(":", 1)[0]) is not None


def _check_iri_reference(value: str) -> bool:
    return _IRI_BAD.search(value) is None and _scheme_ok(value)


def _check_uri(value: str) -> bool:
    head = value.split(":", 1)
    return (
        len(head) == 2 and _SCHEME.fullmatch(head[0]) is not None and _URI_BAD.search(value) is None
    )


def _check_email(value: str) -> bool:
    return _EMAIL.fullmatch(value) is not None


FORMAT_CHECKS: Mapping[str, Callable[[str], bool]] = {
    "date-time": _check_date_time,
    "date": _check_date,
    "iri-reference": _check_iri_reference,
    "iri": lambda v: _check_iri_reference(v) and ":" in v and _scheme_ok(v),
    "uri-reference": lambda v: _URI_BAD.search(v) is None and _scheme_ok(v),
    "uri": _check_uri,
    "idn-email": _check_email,
    "email": _check_email,
}

# --- schema files ---------------------------------------------------------------


@functools.cache
def _load(path: str) -> Any:
    return json.loads(Path(path).read_text("utf-8"))


def _bom_schema(spec_version: str) -> Any:
    path = BOM_JSON.get(SchemaVersion.from_version(spec_version))
    if path is None:  # pragma: no cover - the four accepted versions all have JSON schemas
        raise LookupError(f"no bundled JSON schema for CycloneDX {spec_version}")
    return _load(path)


def _shared_resources() -> list[tuple[str, Any]]:
    return [(_SCHEMA_PREFIX + name, _load(path)) for name, path in _SHARED_SCHEMAS.items()]


@functools.cache
def spdx_license_ids() -> Mapping[str, str]:
    """SPDX licence and exception ids known to the bundled schema: ``{lower: canonical}``."""
    ids: list[str] = _load(SPDX_JSON)["enum"]
    return {i.lower(): i for i in ids}


# --- backends ---------------------------------------------------------------------


class SchemaBackend(Protocol):
    """Yields ``(instance path, message)`` for each violation, in document order."""

    name: str

    def violations(self, spec_version: str, document: Any) -> Iterator[tuple[list[Any], str]]: ...


class _PythonBackend:
    """The pure-Python backend, loaded on first use (:mod:`signing.sbom._schema_python`).

    Importing ``jsonschema`` builds the grammar of an optional IRI parser it finds
    installed (seconds per process), though the checks here replace that one: the
    CLI and the server pay for it only if they ever validate without jsonschema-rs.
    """

    name = "jsonschema"

    def violations(self, spec_version: str, document: Any) -> Iterator[tuple[list[Any], str]]:
        from signing.sbom._schema_python import python_backend

        return python_backend().violations(spec_version, document)


class _RustBackend:
    name = "jsonschema-rs"

    def __init__(self, module: Any) -> None:
        self._module = module
        self._registry = module.Registry(_shared_resources())

    def _refuse(self, uri: str) -> Any:
        raise ValueError(f"remote schema {uri!r} is not bundled; refusing to fetch it")

    @functools.cache  # noqa: B019 - one instance per process, cached on purpose
    def _validator(self, spec_version: str) -> Any:
        return self._module.Draft7Validator(
            _bom_schema(spec_version),
            formats=dict(FORMAT_CHECKS),
            validate_formats=True,
            registry=self._registry,
            retriever=self._refuse,
        )

    def violations(self, spec_version: str, document: Any) -> Iterator[tuple[list[Any], str]]:
        for error in self._validator(spec_version).iter_errors(document):
            best = error
            stack = [e for branch in getattr(error.kind, "context", None) or () for e in branch]
            while stack:
                candidate = stack.pop(0)
                if len(candidate.instance_path) > len(best.instance_path):
                    best = candidate
                stack.extend(
                    e for branch in getattr(candidate.kind, "context", None) or () for e in branch
                )
            yield list(best.instance_path), str(best.message)


@functools.cache
def available_backends() -> dict[str, SchemaBackend]:
    """Backends usable in this process, fastest first."""
    backends: dict[str, SchemaBackend] = {}
    try:
        module = importlib.import_module("jsonschema_rs")
    except ImportError:
        pass
    else:
        backends["jsonschema-rs"] = _RustBackend(module)
    backends["jsonschema"] = _PythonBackend()
    return backends


def iter_violations(
    spec_version: str, document: Any, backend: str | None = None
) -> Iterator[tuple[list[Any], str]]:
    """Schema violations of ``document`` against CycloneDX ``spec_version``."""
    backends = available_backends()
    if backend is not None and backend not in backends:
        raise ValueError(f"schema backend {backend!r} is not available: {', '.join(backends)}")
    chosen = backends[backend] if backend else next(iter(backends.values()))
    return chosen.violations(spec_version, document)
