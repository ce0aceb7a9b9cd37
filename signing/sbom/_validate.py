"""Validate an uploaded CycloneDX JSON BOM: a pure function over its bytes.

:func:`validate_bom` runs these checks in order and raises at the first that
fails, each with its own :class:`~signing.sbom.errors.BomRejected` subclass:

1. size: at most :attr:`BomLimits.max_bytes` (before anything is parsed);
2. text: UTF-8 (a leading byte-order mark is tolerated), starting with ``{``
   (XML is recognised and named as such);
3. JSON: one object, no duplicate keys (two parsers could otherwise disagree
   about which hash a component has), no ``NaN`` / ``Infinity``;
4. nesting: arrays and objects at most :attr:`BomLimits.max_depth` deep
   (CPython's parser stops itself near 1,000 levels with a ``RecursionError``,
   reported the same way), checked before any recursive schema validation;
5. ``bomFormat`` is ``"CycloneDX"``;
6. ``specVersion`` is one of :data:`SUPPORTED_SPEC_VERSIONS` (the schema itself
   does not pin it);
7. the CycloneDX JSON schema of that version, as bundled with
   cyclonedx-python-lib, with fast format checks (see :mod:`signing.sbom._schema`);
   the error lists the JSON pointers of the first violations;
8. every ``bom-ref`` is unique across the document.

It does no I/O and keeps no state, so a service can run it in a worker thread.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from signing.media_types import CYCLONEDX_JSON
from signing.sbom._schema import SUPPORTED_SPEC_VERSIONS, available_backends, iter_violations
from signing.sbom.errors import (
    BomNotCycloneDx,
    BomNotJson,
    BomSchemaError,
    BomTooDeep,
    BomTooLarge,
    DuplicateBomRef,
    SchemaViolation,
    UnsupportedSpecVersion,
)

__all__ = [
    "CYCLONEDX_JSON_MEDIA_TYPE",
    "DEFAULT_LIMITS",
    "SUPPORTED_SPEC_VERSIONS",
    "BomLimits",
    "ValidatedBom",
    "json_pointer",
    "validate_bom",
]

CYCLONEDX_JSON_MEDIA_TYPE = CYCLONEDX_JSON


@dataclass(frozen=True, slots=True)
class BomLimits:
    """Bounds applied before and while a BOM is parsed."""

    max_bytes: int = 16 * 1024 * 1024
    max_depth: int = 64
    max_violations: int = 5
    max_message: int = 200


DEFAULT_LIMITS = BomLimits()


@dataclass(frozen=True, slots=True, eq=False)
class ValidatedBom:
    """A BOM that passed every check, with its parsed document.

    ``document`` is the JSON as uploaded (never the library's model, which
    drops the model card); ``sha256`` is the digest of the exact bytes.
    """

    document: Mapping[str, Any]
    spec_version: str
    serial_number: str | None
    version: int
    size: int
    sha256: str
    schema_backend: str


def json_pointer(path: Any) -> str:
    """RFC 6901 pointer for a sequence of keys and indices (``""`` is the root)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _decode(data: bytes, limits: BomLimits) -> Any:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BomNotJson(f"the BOM is not UTF-8 text (byte {exc.start})") from None
    start = text.lstrip()[:1]
    if start == "<":
        raise BomNotJson("the BOM looks like XML; only CycloneDX JSON is accepted here")
    if start != "{":
        raise BomNotJson("the BOM is not a JSON object")
    try:
        document = json.loads(text, object_pairs_hook=_object, parse_constant=_no_constants)
        if _SURROGATE_ESCAPE.search(text) is not None:
            # Lone surrogates are legal JSON escapes but not Unicode text (RFC 7493);
            # refuse them here rather than fail later when a database encodes them.
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        return document
    except UnicodeEncodeError:
        raise BomNotJson("the BOM holds a lone surrogate escape (not Unicode text)") from None
    except _DuplicateKey as exc:
        raise BomNotJson(
            f"key {exc.key!r} appears twice in one object (ambiguous JSON is refused)"
        ) from None
    except RecursionError:  # nested beyond the interpreter's limit (~1000 levels)
        raise BomTooDeep(limits.max_depth) from None
    except ValueError as exc:
        raise BomNotJson(f"the BOM is not valid JSON: {exc}") from None


def _shorten(message: str, limit: int) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _scan(document: Any, max_depth: int) -> str | None:
    """Enforce the nesting limit; return a ``bom-ref`` used twice, if any.

    One pass over the containers only, without paths, so it stays cheap on a
    large BOM; paths are computed by :func:`_locate` only for a duplicate.
    """
    seen: set[str] = set()
    duplicate: str | None = None
    level: list[Any] = [document]
    depth = 1
    while level:  # breadth first, one list per level: no per-node tuples
        if depth > max_depth:
            raise BomTooDeep(max_depth)
        below: list[Any] = []
        for value in level:
            if type(value) is dict:
                ref = value.get("bom-ref")
                if type(ref) is str:
                    if duplicate is None and ref in seen:
                        duplicate = ref
                    seen.add(ref)
                children: Any = value.values()
            else:
                children = value
            below += [c for c in children if type(c) is dict or type(c) is list]
        level = below
        depth += 1
    return duplicate


def _locate(document: Any, ref: str) -> list[tuple[Any, ...]]:
    """Paths of the objects whose ``bom-ref`` is ``ref``, in document order."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            if value.get("bom-ref") == ref:
                found.append(path)
            items: list[tuple[Any, Any]] = list(value.items())
        else:
            items = list(enumerate(value))
        stack.extend(
            (child, (*path, key))
            for key, child in reversed(items)
            if isinstance(child, (dict, list))
        )
    return found


def validate_bom(
    data: bytes,
    *,
    limits: BomLimits = DEFAULT_LIMITS,
    backend: str | None = None,
) -> ValidatedBom:
    """Check ``data`` (the exact uploaded bytes) and return the parsed BOM.

    ``backend`` forces a schema backend (``"jsonschema-rs"`` or
    ``"jsonschema"``); by default the fastest installed one is used.

    Raises a :class:`~signing.sbom.errors.BomRejected` subclass naming the
    first failed check.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("validate_bom() takes the BOM's bytes")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise BomTooLarge(len(data), limits.max_bytes)
    document = _decode(data, limits)
    if not isinstance(document, dict):  # pragma: no cover - _decode checks the first byte
        raise BomNotJson("the BOM is not a JSON object")
    duplicate = _scan(document, limits.max_depth)
    bom_format = document.get("bomFormat")
    if bom_format != "CycloneDX":
        raise BomNotCycloneDx(f"bomFormat is {bom_format!r}, not 'CycloneDX'")
    spec_version = document.get("specVersion")
    if not isinstance(spec_version, str) or spec_version not in SUPPORTED_SPEC_VERSIONS:
        raise UnsupportedSpecVersion(spec_version, SUPPORTED_SPEC_VERSIONS)

    backend_name = backend or next(iter(available_backends()))
    try:
        violations = [
            SchemaViolation(json_pointer(path), _shorten(message, limits.max_message))
            for path, message in itertools.islice(
                iter_violations(spec_version, document, backend_name), limits.max_violations
            )
        ]
    except RecursionError:  # only with a max_depth raised far above the default
        raise BomTooDeep(limits.max_depth) from None
    if violations:
        raise BomSchemaError(spec_version, violations)
    if duplicate is not None:
        first, second = _locate(document, duplicate)[:2]
        raise DuplicateBomRef(duplicate, json_pointer(first) or "/", json_pointer(second) or "/")

    serial = document.get("serialNumber")
    version = document.get("version", 1)
    return ValidatedBom(
        document=document,
        spec_version=spec_version,
        serial_number=serial if isinstance(serial, str) else None,
        version=version if isinstance(version, int) else 1,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        schema_backend=backend_name,
    )
