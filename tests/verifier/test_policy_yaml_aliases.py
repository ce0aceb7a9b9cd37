"""YAML anchors in policy files: reuse is fine, an alias inside its own anchor is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing.keys import generate_private_key, public_key_pem
from verifier.errors import PolicyFileInvalid
from verifier.trust_policy_file import parse_trust_policy


def test_a_reused_anchor_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "alice.pub").write_bytes(
        public_key_pem(generate_private_key("ecdsa-p256").public_key())
    )
    text = (
        "version: 1\nnamespaces:\n"
        "  - match: acme/*\n    signers: &team\n      - {name: alice, public_key: alice.pub}\n"
        "  - match: labs/*\n    signers: *team\n"
    )
    policy = parse_trust_policy(text, source="trust.yaml", base_dir=tmp_path)
    assert policy.policy_for("labs") is not None


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("version: 1\nnamespaces: &all\n  - *all\n", 2),
        ("version: 1\nnamespaces:\n  - &rule\n    match: x\n    signers: [*rule]\n", 3),
    ],
)
def test_an_alias_inside_its_own_anchor_is_one_error_with_a_line(text: str, line: int) -> None:
    with pytest.raises(PolicyFileInvalid, match="alias") as caught:
        parse_trust_policy(text, source="trust.yaml")
    assert caught.value.line == line
    assert caught.value.diagnostics().startswith(f"trust.yaml:{line}: ")
