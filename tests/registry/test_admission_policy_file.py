"""Admission policy files: the published schema, the example, and every bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from registry.admission_policy import (
    classify_file,
    load_admission_policy,
    parse_admission_policy,
    schema,
)
from verifier.errors import PolicyFileInvalid

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def test_the_published_schema_is_generated_from_the_models():
    published = json.loads((POLICIES / "admission-policy.v1.schema.json").read_text())
    assert published == schema()


def test_the_example_loads_and_validates_against_the_schema():
    example = POLICIES / "admission-policy.example.yaml"
    jsonschema.validate(yaml.safe_load(example.read_text()), schema())
    policy = load_admission_policy(example)
    acme = policy.rule_for("acme/sd-turbo")
    assert policy.rule_for("acme") is acme  # any model of acme: acme/*
    assert acme.strict and "pickle" not in acme.formats
    production = acme.for_alias("production")
    assert production.signatures == 2 and production.require_sbom
    assert production.signers == ("alice", "bob", "release-ci")
    assert acme.for_alias("canary-eu").signatures == 1
    assert acme.for_alias("nightly").signatures is None  # the trust rule's threshold
    assert acme.for_alias("nightly").licenses == ("Apache-2.0", "MIT", "OpenRAIL-M")


def test_uncovered_namespaces_refuse_only_pickle():
    rule = parse_admission_policy("version: 1\nnamespaces: []\n").rule_for("anyone")
    assert "pickle" not in rule.formats and "other" in rule.formats and not rule.strict


@pytest.mark.parametrize(
    ("name", "media_type", "expected"),
    [
        ("unet/diffusion_pytorch_model.safetensors", "", "safetensors"),
        ("model.onnx.data", "", "onnx"),
        ("pytorch_model.bin", "", "pickle"),
        ("model.CKPT", "", "pickle"),
        ("weights.pt", "", "pickle"),
        ("tokenizer.json", "", "json"),
        ("README.md", "", "text"),
        ("model-dir", "application/vnd.oci.image.layer.v1.tar+gzip", "archive"),
        ("blob", "application/octet-stream", "other"),
    ],
)
def test_file_formats_come_from_the_name(name, media_type, expected):
    assert classify_file(name, media_type) == expected


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (
            "version: 1\nnamespaces:\n  - match: acme/*\n    stirct: true\n",
            "unknown field 'stirct'",
            4,
        ),
        ("version: 1\nnamespaces:\n  - match: 'acme['\n", "matching regex", 3),
        ("version: 1\nnamespaces:\n  - match: acme/*\n    formats: [pickles]\n", "pickles", 4),
        (
            "version: 1\nnamespaces:\n  - match: acme/*\n    aliases:\n"
            "      - {match: p, signatures: 0}\n",
            "signatures",
            5,
        ),
        (
            "version: 1\nnamespaces:\n  - match: a/*\n  - match: b/*\n    match: c/*\n",
            "duplicate key",
            5,
        ),
        ("version: 2\nnamespaces: []\n", "version", 1),
        ("", "empty", 1),
        ("version: [1\n", "not valid YAML", 2),
    ],
)
def test_bad_policy_files_name_the_line(text, message, line):
    with pytest.raises(PolicyFileInvalid) as caught:
        parse_admission_policy(text, source="admission.yaml")
    assert message in str(caught.value)
    assert caught.value.line == line, caught.value


def test_an_unreadable_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyFileInvalid, match="cannot read"):
        load_admission_policy(tmp_path / "missing.yaml")
