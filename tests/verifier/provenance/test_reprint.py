"""Reprint policies (files, errors that name the line) and the reprint decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing.exit_codes import ExitCode
from signing.keys import generate_private_key, key_id, public_key_pem
from verifier.provenance import (
    STANDARD_TERMS,
    NoReprintRule,
    ReprintPolicyInvalid,
    ReprintRequest,
    TermRule,
    decide_reprint,
    load_reprint_policy,
    parse_reprint_policy,
)

REPO = Path(__file__).resolve().parents[3]
COMMERCIAL = ReprintRequest(commercial=True, derivative=False, attribution=True)
PLAIN = ReprintRequest(commercial=False, derivative=False, attribution=True)


def test_the_example_policy_loads_and_means_the_standard_terms() -> None:
    policy = load_reprint_policy(REPO / "policies" / "reprint-policy.example.yaml")
    assert dict(policy.terms) == dict(STANDARD_TERMS)
    rule = policy.rule_for("acme/studio/portraits")
    assert [c.name for c in rule.creators] == ["acme-studio"]
    assert rule.creators[0].identity == "mailto:studio@acme.example"
    with pytest.raises(NoReprintRule) as caught:
        policy.rule_for("globex")
    assert caught.value.reason == "no-reprint-rule"


def test_key_files_are_read_relative_to_the_policy(tmp_path: Path) -> None:
    key = generate_private_key("ed25519").public_key()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "node.pub").write_bytes(public_key_pem(key))
    (tmp_path / "reprint.yaml").write_text(
        "version: 1\n"
        "terms: {attribution: {requires_attribution: true}}\n"
        "namespaces:\n"
        "  - match: 'acme/*'\n"
        "    creators: [{name: c, public_key: keys/node.pub}]\n"
        "    nodes: [{name: n, public_key: keys/node.pub}]\n"
    )
    policy = load_reprint_policy(tmp_path / "reprint.yaml")
    assert policy.rule_for("acme/x").nodes[0].key_id == key_id(key)
    with pytest.raises(NoReprintRule):
        policy.rule_for("acme/x/y")  # '*' stays within one segment


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("version: 1\nterms: {a: {}}\nnamespaces: []\nextra: 1\n", 4, "unknown field 'extra'"),
        ("version: 1\nterms: {a: {forbids: [printing]}}\nnamespaces: []\n", 2, "forbids"),
        ("version: 1\nterms: {}\nnamespaces: []\n", 2, "terms"),
        ("version: 1\nterms: {a: {}}\nterms: {b: {}}\nnamespaces: []\n", 3, "duplicate key"),
        (
            "version: 1\nterms: {a: {}}\nnamespaces:\n  - match: x/*\n    creators: [{name: c}]\n"
            "    nodes: [{name: n, public_key: nope.pub}]\n",
            5,
            "exactly one of public_key",
        ),
        (
            "version: 1\nterms: {a: {}}\nnamespaces:\n  - match: x/*\n"
            "    creators: [{name: c, public_key: nope.pub}]\n"
            "    nodes: [{name: n, public_key: nope.pub}]\n",
            5,
            "cannot read public key",
        ),
        (
            "version: 1\nterms: {a: {}}\nnamespaces:\n  - match: x/*\n"
            "    nodes: [{name: n, public_key: k}]\n",
            4,
            "creators",
        ),
    ],
)
def test_policy_errors_name_the_line(body: str, line: int, message: str) -> None:
    with pytest.raises(ReprintPolicyInvalid, match=message) as caught:
        parse_reprint_policy(body, source="reprint.yaml")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"reprint.yaml:{line}: ")
    assert caught.value.check == "policy-file" and caught.value.exit_code == ExitCode.INPUT
    assert caught.value.reason == "reprint-policy-invalid"


def test_an_unreadable_policy_file_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(ReprintPolicyInvalid, match="cannot read"):
        load_reprint_policy(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("terms", "request_", "allowed", "forbidding"),
    [
        (["reprint-allowed"], COMMERCIAL, True, None),
        (["attribution"], PLAIN, True, None),
        (["attribution"], ReprintRequest(False, False, attribution=False), False, "attribution"),
        (["attribution", "non-commercial"], COMMERCIAL, False, "non-commercial"),
        (["attribution", "non-commercial"], PLAIN, True, None),
        (
            ["no-derivatives"],
            ReprintRequest(False, derivative=True, attribution=True),
            False,
            "no-derivatives",
        ),
        (["no-derivatives"], PLAIN, True, None),
        (["no-reprint"], PLAIN, False, "no-reprint"),
        (["attribution", "all-mine"], PLAIN, False, "all-mine"),
        ([], PLAIN, False, None),
    ],
)
def test_decide_reprint(
    terms: list[str], request_: ReprintRequest, allowed: bool, forbidding: str | None
) -> None:
    decision = decide_reprint(terms, request_)
    assert (decision.allowed, decision.forbidding_term) == (allowed, forbidding)
    assert decision.reason


def test_the_first_forbidding_term_in_written_order_is_named() -> None:
    both = ReprintRequest(commercial=True, derivative=True, attribution=True)
    assert decide_reprint(["no-derivatives", "non-commercial"], both).forbidding_term == (
        "no-derivatives"
    )
    assert decide_reprint(["non-commercial", "no-derivatives"], both).forbidding_term == (
        "non-commercial"
    )


def test_policy_rules_decide_not_the_defaults() -> None:
    policy = parse_reprint_policy(
        "version: 1\nterms: {house: {forbids: [commercial], requires_attribution: true}}\n"
        "namespaces: []\n"
    )
    assert policy.terms["house"] == TermRule(frozenset({"commercial"}), True)
    assert policy.decide(["house"], COMMERCIAL).forbidding_term == "house"
    assert policy.decide(["house"], PLAIN).allowed
    # A standard term the policy does not define is refused.
    assert policy.decide(["attribution"], PLAIN).forbidding_term == "attribution"
