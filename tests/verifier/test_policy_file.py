"""Trust policy files: schema, line-numbered errors, namespace rules, and their policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from signing.keys import generate_private_key, public_key_pem
from signing.sign import sign_model
from signing.signers import KeySigner
from tests.support.signing_factories import make_model
from verifier.errors import NoPolicyForNamespace, PolicyFileInvalid, ThresholdNotMet
from verifier.model import verify_model_with_policy
from verifier.signature_policies import Audit, Threshold
from verifier.trust import TrustedCertificateAuthority, TrustedKey, TrustedSigstoreIdentity
from verifier.trust_policy_file import load_trust_policy, parse_trust_policy, schema

REPO = Path(__file__).resolve().parents[2]


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def _policy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "trust.yaml"
    path.write_text(body)
    return path


def test_published_schema_is_generated_from_the_models() -> None:
    published = json.loads((REPO / "policies" / "trust-policy.v1.schema.json").read_text())
    assert published == schema(), "regenerate policies/trust-policy.v1.schema.json from schema()"


def test_published_schema_agrees_with_the_loader(tmp_path: Path) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    validator.check_schema(schema())
    validator.validate(
        yaml.safe_load((REPO / "policies" / "trust-policy.example.yaml").read_text())
    )
    for body, _, _ in BAD_FILES:
        if body.strip():
            data = yaml.safe_load(body) if "[\n" not in body else None
            if isinstance(data, dict) and "missing.pub" not in body and "(unclosed" not in body:
                assert not validator.is_valid(data), body


def test_example_policy_loads_as_shipped() -> None:
    policy = load_trust_policy(REPO / "policies" / "trust-policy.example.yaml")
    acme = policy.rule_for("acme/sd-turbo")
    assert (acme.threshold, acme.level, len(acme.signers)) == (2, "enforce", 3)
    assert isinstance(acme.signers[2], TrustedSigstoreIdentity)
    assert policy.rule_for("acme") is acme  # any model of acme: acme/*
    research = policy.rule_for("acme-research/llm")
    assert isinstance(research.signers[0], TrustedCertificateAuthority)
    assert isinstance(research.as_policy(), Audit)
    assert isinstance(acme.as_policy(), Threshold)
    with pytest.raises(NoPolicyForNamespace, match="repository 'other/model'"):
        policy.policy_for("other/model")
    with pytest.raises(NoPolicyForNamespace, match=r"namespace 'other' \(any model: 'other/\*'\)"):
        policy.policy_for("other")
    with pytest.raises(NoPolicyForNamespace):
        policy.rule_for("acme-research/a/b")  # '*' stays within one segment


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("acme/*", ["acme/x", "acme"], ["acme/x/y", "acme-old/x"]),
        ("acme/**", ["acme/x", "acme/x/y", "acme"], ["acme-old/x", "acme-old"]),
        ("**/prod", ["a/prod", "a/b/prod"], ["prod/x", "a/aprod", "a"]),
        ("team-*/*", ["team-a/x", "team-b"], ["team-a/x/y", "xteam-a/x"]),
        ("acme/sd-*", ["acme/sd-turbo"], ["acme", "acme/llm"]),
    ],
)
def test_repository_patterns_are_anchored(
    pattern: str, matches: list[str], misses: list[str]
) -> None:
    key = public_key_pem(generate_private_key("ed25519").public_key()).decode()
    text = (
        "version: 1\nnamespaces:\n"
        f"  - match: '{pattern}'\n    signers:\n      - name: k\n        public_key_pem: |\n"
        + _indent(key, 10)
    )
    rule = parse_trust_policy(text).rules[0]
    assert all(rule.matches(ns) for ns in matches)
    assert not any(rule.matches(ns) for ns in misses)


def _write_key(tmp_path: Path, name: str) -> tuple[KeySigner, str]:
    signer = KeySigner(generate_private_key("ecdsa-p256"))
    (tmp_path / f"{name}.pub").write_bytes(public_key_pem(signer.public_key))
    return signer, f"{name}.pub"


def test_policy_file_drives_verification(tmp_path: Path) -> None:
    alice, alice_pub = _write_key(tmp_path, "alice")
    bob, bob_pub = _write_key(tmp_path, "bob")
    path = _policy(
        tmp_path,
        f"""version: 1
namespaces:
  - match: "acme/**"
    threshold: 2
    signers:
      - {{name: alice, public_key: {alice_pub}}}
      - {{name: bob, public_key: {bob_pub}}}
""",
    )
    model = make_model(tmp_path / "model", {"w.bin": b"w"})
    bundles = [sign_model(model, s).bundle.to_bytes() for s in (alice, bob)]
    policy = load_trust_policy(path).policy_for("acme/sd-turbo")
    result = verify_model_with_policy(model, bundles, policy)
    assert {s.trusted_as for s in result.signers} == {"alice", "bob"}
    with pytest.raises(ThresholdNotMet):
        verify_model_with_policy(model, bundles[:1], policy)


def test_unknown_field_names_its_line(tmp_path: Path) -> None:
    _, key = _write_key(tmp_path, "k")
    path = _policy(
        tmp_path,
        f"""version: 1
namespaces:
  - match: "acme/**"
    treshold: 2
    signers:
      - {{name: k, public_key: {key}}}
""",
    )
    with pytest.raises(PolicyFileInvalid) as caught:
        load_trust_policy(path)
    assert caught.value.line == 4
    assert "unknown field 'treshold'" in caught.value.diagnostics()
    assert caught.value.diagnostics().startswith(f"{path}:4:")


_KEY = "        public_key_pem: '-----BEGIN PUBLIC KEY-----'\n"
BAD_FILES = [
    ("version: 1\nnamespaces:\n  - match: a/*\n    signers: [\n", 5, "not valid YAML"),
    ("", 1, "empty"),
    ("version: 2\nnamespaces: []\n", 1, "version: Invalid enum value 2"),
    ("version: 1\nnamespaces:\n  - level: audit\n", 3, "missing required field `match`"),
    (
        "version: 1\nnamespaces:\n  - match: a/*\n    match: b\n    signers: []\n",
        4,
        "duplicate key 'match'",
    ),
    (
        "version: 1\nnamespaces:\n  - match: a/*\n    signers:\n      - name: x\n",
        5,
        "exactly one of public_key",
    ),
    (
        "version: 1\nnamespaces:\n  - match: a/*\n    signers:\n      - name: x\n"
        "        sigstore: {issuer: https://i}\n",
        6,
        "exactly one of identity, identity_pattern",
    ),
    (
        "version: 1\nnamespaces:\n  - match: a/*\n    level: strict\n    signers:\n"
        "      - name: x\n" + _KEY,
        4,
        "Invalid enum value 'strict'",
    ),
    (
        "version: 1\nnamespaces:\n  - match: a/*\n    threshold: two\n    signers:\n"
        "      - name: x\n" + _KEY,
        4,
        "Expected `int`, got `str`",
    ),
    ("version: 1\nnamespaces:\n  - match: a/*\n    signers: []\n", 4, "length >= 1"),
    (
        "version: 1\nnamespaces:\n  - match: a/*\n    signers:\n      - name: x\n"
        "        public_key: missing.pub\n",
        6,
        "cannot read public key",
    ),
    (
        "version: 1\nnamespaces:\n  - match: a/*\n    signers:\n      - name: x\n"
        "        sigstore: {issuer: https://i, identity_pattern: '(unclosed'}\n",
        6,
        "invalid regular expression",
    ),
    (
        "version: 1\nnamespaces:\n  - match: 'a b'\n    signers:\n      - name: x\n" + _KEY,
        3,
        "match: Expected `str` matching regex",
    ),
    (
        "version: 1\nnamespaces:\n  - match: a/*\n    signers:\n      - name: x\n"
        "        certificate_authority: {roots: [r.pem], sans: x}\n",
        6,
        "unknown field 'sans' in namespaces[0].signers[0].certificate_authority (allowed:",
    ),
]


@pytest.mark.parametrize(("body", "line", "message"), BAD_FILES)
def test_bad_policy_files(tmp_path: Path, body: str, line: int, message: str) -> None:
    with pytest.raises(PolicyFileInvalid) as caught:
        load_trust_policy(_policy(tmp_path, body))
    assert message in caught.value.diagnostics()
    assert caught.value.line == line


def test_duplicate_keys_cannot_reach_the_threshold(tmp_path: Path) -> None:
    _, key = _write_key(tmp_path, "k")
    path = _policy(
        tmp_path,
        f"""version: 1
namespaces:
  - match: "acme/*"
    threshold: 2
    signers:
      - {{name: k, public_key: {key}}}
      - {{name: k-again, public_key: {key}}}
""",
    )
    with pytest.raises(PolicyFileInvalid, match="same key") as caught:
        load_trust_policy(path)
    assert caught.value.line == 4


def test_first_matching_rule_wins(tmp_path: Path) -> None:
    a, a_pub = _write_key(tmp_path, "a")
    _, b_pub = _write_key(tmp_path, "b")
    path = _policy(
        tmp_path,
        f"""version: 1
namespaces:
  - {{match: "acme/special", signers: [{{name: b, public_key: {b_pub}}}]}}
  - {{match: "acme/*", signers: [{{name: a, public_key: {a_pub}}}]}}
""",
    )
    policy = load_trust_policy(path)
    assert policy.rule_for("acme/special").signers[0].name == "b"
    signers = policy.rule_for("acme/other").signers
    assert (
        isinstance(signers[0], TrustedKey) and signers[0].key_id == TrustedKey(a.public_key).key_id
    )


def test_unreadable_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileInvalid, match="cannot read"):
        load_trust_policy(tmp_path / "absent.yaml")
