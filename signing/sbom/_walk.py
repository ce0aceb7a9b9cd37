"""Navigation over a parsed CycloneDX document (plain JSON, schema-valid)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from signing.sbom.errors import BomBindingError

ML_MODEL = "machine-learning-model"
PROPERTY_PREFIX = "custody:"


def components(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every component: ``metadata.component``, ``components`` and all nested ones."""
    stack: list[Any] = []
    metadata = document.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("component"), Mapping):
        stack.append(metadata["component"])
    stack.extend(reversed(document.get("components") or []))
    while stack:
        component = stack.pop()
        if not isinstance(component, Mapping):
            continue
        yield component
        stack.extend(reversed(component.get("components") or []))


def nested(component: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Components below ``component`` (not itself), depth first."""
    stack = list(reversed(component.get("components") or []))
    while stack:
        child = stack.pop()
        if isinstance(child, Mapping):
            yield child
            stack.extend(reversed(child.get("components") or []))


def model_component(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The BOM's top-level model component.

    ``metadata.component`` when it is a model; otherwise the one model among the
    top-level ``components`` and the children of ``metadata.component``.
    Raises :class:`~signing.sbom.errors.BomBindingError` when there is none or
    more than one.
    """
    metadata = document.get("metadata")
    subject = metadata.get("component") if isinstance(metadata, Mapping) else None
    if isinstance(subject, Mapping) and subject.get("type") == ML_MODEL:
        return subject
    candidates = [c for c in document.get("components") or [] if isinstance(c, Mapping)]
    if isinstance(subject, Mapping):
        candidates += [c for c in subject.get("components") or [] if isinstance(c, Mapping)]
    models = [c for c in candidates if c.get("type") == ML_MODEL]
    if not models:
        raise BomBindingError("the BOM has no top-level machine-learning-model component")
    if len(models) > 1:
        names = ", ".join(repr(m.get("bom-ref") or m.get("name")) for m in models[:5])
        raise BomBindingError(
            f"the BOM has {len(models)} top-level model components ({names}); "
            "it cannot be bound to one model version"
        )
    return models[0]


def sha256_hashes(component: Mapping[str, Any]) -> list[str]:
    """The component's SHA-256 hashes, lower-case hex."""
    return [
        str(h.get("content", "")).lower()
        for h in component.get("hashes") or []
        if isinstance(h, Mapping) and h.get("alg") == "SHA-256"
    ]


def properties(component: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(name, value)`` of each property (names may repeat)."""
    for item in component.get("properties") or []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            yield item["name"], str(item.get("value", ""))
