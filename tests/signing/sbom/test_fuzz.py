"""Arbitrary input never escapes the typed errors (fuzzing with hypothesis)."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from signing.sbom import (
    BomRejected,
    OnnxModelError,
    SafetensorsHeaderError,
    index_bom,
    inspect_onnx,
    parse_safetensors_header,
    validate_bom,
)

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_bomish = st.fixed_dictionaries(
    {
        "bomFormat": st.sampled_from(["CycloneDX", "SPDX"]),
        "specVersion": st.sampled_from(["1.4", "1.6", "1.7", "2.0"]),
    },
    optional={
        "version": st.integers(-1, 3),
        "components": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["library", "file", "machine-learning-model", "x"])},
                optional={"name": st.text(max_size=5), "bom-ref": st.sampled_from(["a", "b"])},
            ),
            max_size=4,
        ),
        "metadata": st.dictionaries(st.text(max_size=8), _json, max_size=3),
    },
)


def _accept_or_reject(data: bytes) -> None:
    try:
        bom = validate_bom(data)
    except BomRejected:
        return
    index_bom(bom)  # a BOM that passed must also index


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    _accept_or_reject(data)


@settings(max_examples=150, deadline=None)
@given(_json | _bomish)
def test_arbitrary_json(document: Any) -> None:
    _accept_or_reject(json.dumps(document).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 200))
def test_arbitrary_safetensors_prefix(tail: bytes, declared: int) -> None:
    blob = struct.pack("<Q", declared) + tail
    with contextlib.suppress(SafetensorsHeaderError):
        parse_safetensors_header(blob, len(blob))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=128))
def test_arbitrary_onnx_bytes(data: bytes) -> None:
    with contextlib.suppress(OnnxModelError):
        inspect_onnx(data, name="fuzz.onnx", files={"fuzz.onnx": len(data)})


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


_GENERATED: dict[str, Any] = {}


def _generated() -> dict[str, Any]:
    if not _GENERATED:
        import tempfile
        from pathlib import Path

        from signing.sbom import BomMetadata, Dataset, generate_bom
        from tests.signing.sbom.builders import make_model_dir

        root = make_model_dir(Path(tempfile.mkdtemp()) / "m")
        metadata = BomMetadata(licenses=("MIT",), datasets=(Dataset("d", "https://x", "0" * 64),))
        generated = generate_bom(root, metadata)
        _GENERATED["document"] = json.loads(generated.to_bytes())
        _GENERATED["files"] = list(generated.files.items())
    return _GENERATED


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_mutated_generated_boms_bind_or_fail_cleanly(data: st.DataObject) -> None:
    import copy

    from signing.sbom import BomBindingError, bind_bom

    base = _generated()
    document = copy.deepcopy(base["document"])
    paths = _paths(document)
    for path in data.draw(st.lists(st.sampled_from(paths), max_size=3)):
        parent: Any = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(_scalars)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        bom = validate_bom(json.dumps(document).encode())
    except BomRejected:
        return
    index_bom(bom)
    with contextlib.suppress(BomBindingError):
        bind_bom(bom, base["files"])
