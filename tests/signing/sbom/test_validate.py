"""Uploaded BOMs: each non-HTTP bad input of issue 5, and real BOMs written by other tools."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from signing.sbom import (
    BomLimits,
    BomNotCycloneDx,
    BomNotJson,
    BomRejected,
    BomSchemaError,
    BomTooDeep,
    BomTooLarge,
    DuplicateBomRef,
    UnsupportedSpecVersion,
    validate_bom,
)
from signing.sbom._schema import FORMAT_CHECKS, available_backends
from tests.signing.sbom.builders import ASSETS

SPEC = ASSETS / "cyclonedx-spec"
REAL = ASSETS / "real"
BACKENDS = list(available_backends())


def minimal(spec_version: str = "1.6", **extra: Any) -> dict[str, Any]:
    return {"bomFormat": "CycloneDX", "specVersion": spec_version, "version": 1, **extra}


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- what is accepted ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.6", "1.7"])
def test_minimal_bom_of_each_accepted_version(version: str, backend: str) -> None:
    bom = validate_bom(encode(minimal(version)), backend=backend)
    assert bom.spec_version == version
    assert bom.schema_backend == backend


@pytest.mark.parametrize(
    "name",
    [
        "valid-machine-learning-1.6.json",
        "valid-machine-learning-1.7.json",
        "valid-machine-learning-considerations-env-1.7.json",
        "valid-component-data-1.7.json",
    ],
)
def test_specification_examples_are_accepted(name: str, backend: str) -> None:
    data = (SPEC / name).read_bytes()
    bom = validate_bom(data, backend=backend)
    assert bom.document == json.loads(data)


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("ruff-0.17.6.cyclonedx.json", "1.5"),  # cargo-cyclonedx, 330 components
        ("platformdirs-4.14.7.cdx.json", "1.6"),
        ("onnx-1.23.2.cdx.json", "1.7"),
    ],
)
def test_real_boms_written_by_other_tools_are_accepted(name: str, version: str) -> None:
    data = (REAL / name).read_bytes()
    bom = validate_bom(data)
    assert bom.spec_version == version
    assert bom.size == len(data)


def test_a_utf8_byte_order_mark_is_tolerated() -> None:
    assert validate_bom(b"\xef\xbb\xbf" + encode(minimal())).spec_version == "1.6"


def test_the_digest_is_over_the_exact_bytes() -> None:
    import hashlib

    data = b"  " + encode(minimal()) + b"\n"
    assert validate_bom(data).sha256 == hashlib.sha256(data).hexdigest()


# --- bad input, in the order of the issue -------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"hello", b"{", b'{"bomFormat": "CycloneDX",}', b"", b"   ", b"[1, 2]", b"42", b'"text"'],
    ids=["word", "truncated", "trailing_comma", "empty", "blank", "array", "number", "string"],
)
def test_not_json(data: bytes) -> None:
    with pytest.raises(BomNotJson):
        validate_bom(data)


def test_not_utf8() -> None:
    with pytest.raises(BomNotJson, match="UTF-8"):
        validate_bom(b'{"bomFormat": "\xff\xfe"}')


def test_json_with_nan_is_not_json() -> None:
    with pytest.raises(BomNotJson):
        validate_bom(b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": NaN}')


def test_duplicate_keys_are_refused() -> None:
    data = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "specVersion": "1.4"}'
    with pytest.raises(BomNotJson, match="'specVersion' appears twice"):
        validate_bom(data)


@pytest.mark.parametrize(
    "document",
    [
        {"specVersion": "1.6"},
        {"bomFormat": "SPDX", "specVersion": "1.6"},
        {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"},
        {"bomFormat": "cyclonedx", "specVersion": "1.6"},
    ],
    ids=["missing", "spdx_bomformat", "spdx_document", "wrong_case"],
)
def test_not_cyclonedx(document: dict[str, Any]) -> None:
    with pytest.raises(BomNotCycloneDx):
        validate_bom(encode(document))


def test_xml_when_json_is_expected() -> None:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"></bom>'
    )
    with pytest.raises(BomNotJson, match="XML"):
        validate_bom(xml)
    with pytest.raises(BomNotJson, match="XML"):
        validate_bom(b"\n  " + xml.split(b"\n", 1)[1])


@pytest.mark.parametrize("version", ["1.2", "1.3", "2.0", "1.8", "", None, 1.6])
def test_unsupported_spec_versions(version: object) -> None:
    with pytest.raises(UnsupportedSpecVersion) as caught:
        validate_bom(encode(minimal(version)))  # type: ignore[arg-type]
    assert caught.value.found == version
    assert caught.value.accepted == ("1.4", "1.5", "1.6", "1.7")


def test_schema_violation_lists_the_json_pointers_of_the_first_violations(backend: str) -> None:
    document = minimal(
        components=[
            {"type": "library", "name": "ok"},
            {"type": "not-a-type", "name": "bad-type"},
            {"type": "library", "name": "bad-hash", "hashes": [{"alg": "SHA-256", "content": "x"}]},
            {"type": "library"},
        ],
        metadata={"timestamp": "yesterday"},
    )
    with pytest.raises(BomSchemaError) as caught:
        validate_bom(encode(document), backend=backend)
    pointers = set(caught.value.pointers)
    assert {
        "/components/1/type",
        "/components/2/hashes/0/content",
        "/metadata/timestamp",
    } <= pointers
    assert any(p.startswith("/components/3") for p in pointers)
    assert "/components/1/type" in str(caught.value)
    assert caught.value.code == "BOM_SCHEMA_INVALID"


def test_the_number_of_listed_violations_is_bounded() -> None:
    document = minimal(components=[{"type": "bad", "name": str(i)} for i in range(50)])
    with pytest.raises(BomSchemaError) as caught:
        validate_bom(encode(document), limits=BomLimits(max_violations=3))
    assert caught.value.pointers == (
        "/components/0/type",
        "/components/1/type",
        "/components/2/type",
    )


def test_long_messages_are_shortened() -> None:
    document = minimal(components=[{"type": "library", "name": "x", "bogus": "y" * 5000}])
    with pytest.raises(BomSchemaError) as caught:
        validate_bom(encode(document))
    assert all(len(v.message) <= 200 for v in caught.value.violations)


@pytest.mark.parametrize(
    ("name", "pointer"),
    [
        ("invalid-hash-sha256-1.6.json", "/components/0/hashes/2/content"),
        ("invalid-hash-alg-1.6.json", "/components/0/hashes/0/alg"),
        ("invalid-license-id-1.6.json", "/components/0/licenses/0/license/id"),
        ("invalid-license-choice-1.6.json", "/components/0/licenses/0"),
        # The 1.6 folder's copy of this example is not valid against the 1.6 schema
        # (publisher as an object, an external reference without a type); upstream
        # fixed it in the 1.7 folder.
        ("valid-machine-learning-considerations-env-1.6.json", "/components/0/publisher"),
    ],
)
def test_specification_invalid_examples_are_refused(name: str, pointer: str, backend: str) -> None:
    with pytest.raises(BomSchemaError) as caught:
        validate_bom((SPEC / name).read_bytes(), backend=backend)
    assert caught.value.pointers[0] == pointer


def test_a_50_mb_bom_is_over_the_size_limit() -> None:
    data = b"{" + b" " * (50 * 1024 * 1024) + b"}"
    with pytest.raises(BomTooLarge) as caught:
        validate_bom(data)
    assert caught.value.size == len(data)
    assert caught.value.limit == 16 * 1024 * 1024


def test_the_size_limit_is_configurable() -> None:
    with pytest.raises(BomTooLarge):
        validate_bom(encode(minimal()), limits=BomLimits(max_bytes=10))


@pytest.mark.parametrize("depth", [65, 500, 5_000, 200_000])
def test_deeply_nested_json(depth: int) -> None:
    nested = "[" * depth + "]" * depth
    data = ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": ' + nested + "}").encode()
    with pytest.raises(BomTooDeep):
        validate_bom(data)


def test_nesting_at_the_limit_is_allowed_through_to_the_schema() -> None:
    nested = "[" * 62 + "]" * 62
    data = ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": ' + nested + "}").encode()
    with pytest.raises(BomSchemaError):  # depth 63 passes; the unknown "x" does not
        validate_bom(data)


def test_duplicate_bom_refs(backend: str) -> None:
    document = minimal(
        metadata={"component": {"type": "application", "name": "app", "bom-ref": "a"}},
        components=[
            {"type": "library", "name": "x", "bom-ref": "b"},
            {"type": "library", "name": "y", "bom-ref": "c"},
            {"type": "library", "name": "z", "bom-ref": "b"},
        ],
    )
    with pytest.raises(DuplicateBomRef) as caught:
        validate_bom(encode(document), backend=backend)
    assert caught.value.ref == "b"
    assert caught.value.pointers == ("/components/0", "/components/2")


def test_duplicate_bom_refs_in_nested_components_and_services() -> None:
    document = minimal(
        components=[
            {
                "type": "library",
                "name": "outer",
                "bom-ref": "outer",
                "components": [{"type": "file", "name": "f", "bom-ref": "svc/1"}],
            }
        ],
        services=[{"name": "s", "bom-ref": "svc/1"}],
    )
    with pytest.raises(DuplicateBomRef) as caught:
        validate_bom(encode(document))
    assert caught.value.pointers == ("/components/0/components/0", "/services/0")


def test_a_real_bom_with_a_duplicate_bom_ref_is_refused() -> None:
    # auditwheel 6.7.0 gives metadata.component and components[0] the same bom-ref,
    # which CycloneDX forbids ("every bom-ref must be unique within the BOM").
    with pytest.raises(DuplicateBomRef) as caught:
        validate_bom((REAL / "psycopg-binary-3.3.9.auditwheel.cdx.json").read_bytes())
    assert caught.value.pointers == ("/metadata/component", "/components/0")


def test_every_refusal_is_a_bom_rejected_with_a_code() -> None:
    for data in (b"x", encode({"a": 1}), encode(minimal("2.0")), encode(minimal(bogus=1))):
        with pytest.raises(BomRejected) as caught:
            validate_bom(data)
        assert caught.value.code.startswith("BOM_")


def test_unknown_backend_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="not available"):
        validate_bom(encode(minimal()), backend="nope")


# --- the two schema backends agree ------------------------------------------------------


def _mutations() -> list[dict[str, Any]]:
    base = json.loads((SPEC / "valid-machine-learning-1.6.json").read_bytes())
    out = [base]
    for path, value in [
        (("components", 0, "type"), "model"),
        (("components", 0, "modelCard", "modelParameters", "approach", "type"), "guessing"),
        (
            ("components", 0, "modelCard", "modelParameters", "datasets", 0, "contents", "url"),
            "a b",
        ),
        (("serialNumber",), "not-a-urn"),
        (("version",), 0),
        (("components", 0, "modelCard", "considerations", "users"), "everyone"),
    ]:
        document = copy.deepcopy(base)
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        out.append(document)
    return out


@pytest.mark.skipif(len(BACKENDS) < 2, reason="jsonschema-rs is not installed")
@pytest.mark.parametrize("index", range(7))
def test_backends_agree(index: int) -> None:
    document = _mutations()[index]
    verdicts = []
    for name in BACKENDS:
        try:
            validate_bom(encode(document), backend=name)
            verdicts.append(None)
        except BomSchemaError as exc:
            verdicts.append(exc.pointers[0])
    assert len(set(verdicts)) == 1, verdicts


# --- format checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "value", "ok"),
    [
        ("date-time", "2024-05-01T12:30:00Z", True),
        ("date-time", "2024-05-01T12:30:00.123+02:00", True),
        ("date-time", "2024-02-30T00:00:00Z", False),
        ("date-time", "2024-05-01 12:30:00Z", False),
        ("date-time", "2024-05-01T25:00:00Z", False),
        ("date-time", "yesterday", False),
        ("date", "2024-05-01", True),
        ("date", "2024-13-01", False),
        ("iri-reference", "https://example.com/a%20b?q=1#frag", True),
        ("iri-reference", "https://例え.jp/パス", True),
        ("iri-reference", "relative/path", True),
        ("iri-reference", "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#comp", True),
        ("iri-reference", "http://a b", False),
        ("iri-reference", "https://example.com/%zz", False),
        ("iri-reference", "https://example.com/<script>", False),
        ("iri-reference", "1http://x", False),
        ("uri", "https://example.com", True),
        ("uri", "https://例え.jp", False),
        ("uri", "example.com", False),
        ("idn-email", "a@example.com", True),
        ("idn-email", "not an email", False),
    ],
)
def test_format_checks(fmt: str, value: str, ok: bool) -> None:
    assert FORMAT_CHECKS[fmt](value) is ok


def test_validate_accepts_bytearray_and_refuses_text() -> None:
    assert validate_bom(bytearray(encode(minimal()))).spec_version == "1.6"
    with pytest.raises(TypeError):
        validate_bom(json.dumps(minimal()))  # type: ignore[arg-type]


def test_assets_are_where_the_readme_says(tmp_path: Path) -> None:
    readme = (ASSETS / "README.md").read_text()
    for path in sorted(ASSETS.rglob("*.json")):
        assert path.name in readme, f"{path.name} is not described in tests/assets/sbom/README.md"


def test_lone_surrogates_are_not_text() -> None:
    name = '"\\ud800"'
    data = (
        '{"bomFormat": "CycloneDX", "specVersion": "1.6", "serialNumber": ' + name + "}"
    ).encode()
    with pytest.raises(BomNotJson, match="surrogate"):
        validate_bom(data)
    # A proper pair (as in the specification's own ML example) is fine.
    pair = minimal(components=[{"type": "library", "name": "x", "description": "\U0001f917"}])
    assert validate_bom(json.dumps(pair).encode()).document["components"][0]["description"] == (
        "\U0001f917"
    )
    escaped_backslash = b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "x": "\\\\ud800"}'
    with pytest.raises(BomSchemaError):  # not a surrogate: an escaped backslash, then "ud800"
        validate_bom(escaped_backslash)
