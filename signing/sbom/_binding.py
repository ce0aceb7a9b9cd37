"""Bind a validated BOM to the bytes of one model version.

A BOM is bound when its top-level model component (see
:func:`signing.sbom._walk.model_component`) describes exactly the version's
files. Two ways are accepted:

* **files**: the model's file components (nested under the model component,
  or, if it has none, the BOM's top-level ``file`` components) name every
  file of the version, and only those, each with a SHA-256 equal to the
  version's;
* **root digest**: the model component's SHA-256 equals the version's model
  digest: the OMS root digest (SHA-256 over the per-file SHA-256 digests
  concatenated in model_signing's order, which this module computes from the
  file list; or the one given by the caller, e.g. from a sharded signature),
  or, for a one-file version, that file's SHA-256.

When the BOM carries both, both must agree. The first difference is named in
the error, in the version's file order. Nothing is bound by name alone: a
component without a SHA-256 cannot vouch for a file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from signing.sbom._validate import ValidatedBom
from signing.sbom._walk import model_component, nested, sha256_hashes
from signing.sbom.errors import BomDigestMismatch, MissingBomHashes

__all__ = ["BomBinding", "bind_bom", "oms_root_digest"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class BomBinding:
    """How a BOM was bound: by ``files``, by ``root-digest``, or both (``files+root``)."""

    method: Literal["files", "root-digest", "files+root"]
    model_ref: str | None
    model_name: str | None
    file_count: int
    root_digest: str


def _path_key(name: str) -> tuple[str, ...]:
    return tuple(name.split("/"))


def oms_root_digest(files: Iterable[tuple[str, str]]) -> str:
    """The OMS subject digest of a whole-file SHA-256 manifest of ``files``.

    Files are ordered as model_signing orders them (by path components) and
    their raw digests concatenated; the result is lower-case hex.
    """
    hasher = hashlib.sha256()
    for _, digest in sorted(files, key=lambda f: _path_key(f[0])):
        hasher.update(bytes.fromhex(digest))
    return hasher.hexdigest()


def _normalise_digest(value: str, what: str) -> str:
    digest = value.lower().removeprefix("sha256:")
    if _HEX64.fullmatch(digest) is None:
        raise ValueError(f"{what} {value!r} is not a SHA-256 hex digest")
    return digest


def _file_components(
    document: Mapping[str, Any], model: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    below = [c for c in nested(model) if c.get("type") == "file"]
    if below:
        return below
    return [
        c
        for c in document.get("components") or []
        if isinstance(c, Mapping) and c.get("type") == "file"
    ]


def bind_bom(
    bom: ValidatedBom,
    files: Iterable[tuple[str, str]],
    *,
    root_digest: str | None = None,
) -> BomBinding:
    """Check that ``bom`` describes exactly the version whose files are ``files``.

    ``files`` are ``(model-relative name, sha256 hex)`` pairs; ``root_digest``
    is the version's OMS root digest when the caller knows it (hex, optionally
    prefixed ``sha256:``). Returns how the BOM was bound; raises
    :class:`~signing.sbom.errors.MissingBomHashes` when the BOM has nothing to
    bind with, :class:`~signing.sbom.errors.BomDigestMismatch` naming the first
    difference, or :class:`~signing.sbom.errors.BomBindingError` when the BOM
    has no single model component.
    """
    expected: dict[str, str] = {}
    for name, digest in files:
        if name in expected:
            raise ValueError(f"file {name!r} is listed twice in the version")
        expected[name] = _normalise_digest(digest, f"digest of {name!r}")
    if not expected:
        raise ValueError("a model version has at least one file")
    computed_root = oms_root_digest(expected.items())
    roots = {computed_root: "the OMS root digest of the version's files"}
    if root_digest is not None:
        roots.setdefault(_normalise_digest(root_digest, "root digest"), "the version's root digest")
    if len(expected) == 1:
        roots.setdefault(next(iter(expected.values())), "the SHA-256 of the version's only file")

    document = bom.document
    model = model_component(document)
    model_ref = model.get("bom-ref")
    model_name = model.get("name")
    model_hashes = sha256_hashes(model)
    components = _file_components(document, model)

    def result(method: Literal["files", "root-digest", "files+root"]) -> BomBinding:
        return BomBinding(
            method,
            model_ref if isinstance(model_ref, str) else None,
            model_name if isinstance(model_name, str) else None,
            len(expected),
            computed_root,
        )

    if components:
        described: dict[str, list[str]] = {}
        for component in components:
            name = str(component.get("name", ""))
            if name in described:
                raise BomDigestMismatch(f"the BOM lists file {name!r} twice")
            described[name] = sha256_hashes(component)
        for name in sorted(expected, key=_path_key):
            if name not in described:
                raise BomDigestMismatch(f"file {name!r} of the version is missing from the BOM")
            hashes = described[name]
            if not hashes:
                raise MissingBomHashes(f"the BOM's component for {name!r} has no SHA-256 hash")
            wrong = [h for h in hashes if h != expected[name]]
            if wrong:
                raise BomDigestMismatch(
                    f"file {name!r}: the BOM says sha256 {wrong[0]}, "
                    f"the version has {expected[name]}"
                )
        extra = sorted((n for n in described if n not in expected), key=_path_key)
        if extra:
            raise BomDigestMismatch(
                f"the BOM lists {extra[0]!r}, which is not a file of the version"
            )
        if model_hashes:
            _check_model_hashes(model_hashes, roots)
            return result("files+root")
        return result("files")
    if model_hashes:
        _check_model_hashes(model_hashes, roots)
        return result("root-digest")
    raise MissingBomHashes(
        "the BOM's model component has no SHA-256 hash and lists no file components "
        "with hashes: it cannot be bound to any bytes"
    )


def _check_model_hashes(hashes: list[str], roots: Mapping[str, str]) -> None:
    for value in hashes:
        if value not in roots:
            described = "; ".join(f"{what} is {digest}" for digest, what in roots.items())
            raise BomDigestMismatch(
                f"the model component's SHA-256 {value} matches nothing of this version "
                f"({described})"
            )
