"""One meaning of a rule's ``match`` across the trust, admission and reprint policies.

The same table runs through all three real loaders: a glob over ``namespace/model``,
a bare namespace looked up as ``namespace/*``, first match wins, and a pattern
that can match no repository refused when the file loads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.admission_policy import parse_admission_policy
from signing.keys import generate_private_key, public_key_pem
from verifier.errors import NoPolicyForNamespace, PolicyFileInvalid, VerificationError
from verifier.policy_documents.rule_matching import (
    MATCH_DESCRIPTION,
    lookup_name,
    rule_matches,
    subject_from_options,
)
from verifier.provenance.errors import NoReprintRule
from verifier.provenance.reprint_policy import parse_reprint_policy
from verifier.trust_policy_file import parse_trust_policy

REPO = Path(__file__).resolve().parents[3]
_PEM = public_key_pem(generate_private_key("ed25519").public_key()).decode()
_KEY = "{name: k, public_key_pem: " + json.dumps(_PEM) + "}"


def _trust(patterns: list[str]) -> str:
    rules = "".join(f"  - {{match: '{p}', signers: [{_KEY}]}}\n" for p in patterns)
    return "version: 1\nnamespaces:\n" + rules


def _admission(patterns: list[str]) -> str:
    rules = "".join(f"  - {{match: '{p}', description: '{i}'}}\n" for i, p in enumerate(patterns))
    return "version: 1\nnamespaces:\n" + rules


def _reprint(patterns: list[str]) -> str:
    rules = "".join(
        f"  - {{match: '{p}', description: '{i}', creators: [{_KEY}], nodes: [{_KEY}]}}\n"
        for i, p in enumerate(patterns)
    )
    return "version: 1\nterms: {attribution: {requires_attribution: true}}\nnamespaces:\n" + rules


def _trust_lookup(patterns: list[str], subject: str) -> str | None:
    try:
        return parse_trust_policy(_trust(patterns)).rule_for(subject).match
    except NoPolicyForNamespace:
        return None


def _admission_lookup(patterns: list[str], subject: str) -> str | None:
    rule = parse_admission_policy(_admission(patterns)).rule_for(subject)
    return None if rule.line == 0 else rule.match  # line 0: no rule, the defaults


def _reprint_lookup(patterns: list[str], subject: str) -> str | None:
    try:
        return parse_reprint_policy(_reprint(patterns)).rule_for(subject).match
    except NoReprintRule:
        return None


LANGUAGES: dict[str, Callable[[list[str], str], str | None]] = {
    "trust": _trust_lookup,
    "admission": _admission_lookup,
    "reprint": _reprint_lookup,
}

# (rules in file order, what is looked up, the rule that applies or None)
TABLE: list[tuple[list[str], str, str | None]] = [
    (["acme/**"], "acme/tiny", "acme/**"),
    (["acme/**"], "acme", "acme/**"),  # a bare namespace: any model, acme/*
    (["acme/*"], "acme/sd-turbo", "acme/*"),
    (["acme/*"], "acme", "acme/*"),
    (["acme/*"], "acme-research/x", None),
    (["acme/**"], "acme-research", None),
    (["acme/sd-turbo"], "acme/sd-turbo", "acme/sd-turbo"),
    (["acme/sd-turbo"], "acme/sd", None),
    (["acme/sd-turbo"], "acme", None),  # one model does not cover the namespace
    (["acme/sd-*"], "acme/sd-xl", "acme/sd-*"),
    (["acme/sd-*"], "acme", None),
    (["*/sd-turbo"], "globex/sd-turbo", "*/sd-turbo"),
    (["*/*"], "globex", "*/*"),
    (["**"], "anyone/anything", "**"),
    (["**"], "anyone", "**"),
    (["acme/sd-turbo", "acme/*"], "acme/sd-turbo", "acme/sd-turbo"),  # first match wins
    (["acme/sd-turbo", "acme/*"], "acme/llm", "acme/*"),
    (["acme/sd-turbo", "acme/*"], "acme", "acme/*"),
    (["acme/*", "acme/sd-turbo"], "acme/sd-turbo", "acme/*"),
    (["team-*/*"], "team-a/x", "team-*/*"),
    (["team-*/*"], "xteam-a/x", None),
]


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize(("patterns", "subject", "expected"), TABLE)
def test_the_same_rule_applies_in_every_policy_language(
    language: str, patterns: list[str], subject: str, expected: str | None
) -> None:
    assert LANGUAGES[language](patterns, subject) == expected


@pytest.mark.parametrize(
    ("language", "parse", "text"),
    [
        ("trust", parse_trust_policy, _trust),
        ("admission", parse_admission_policy, _admission),
        ("reprint", parse_reprint_policy, _reprint),
    ],
)
@pytest.mark.parametrize("pattern", ["acme", "acme*", "*"])
def test_a_pattern_that_can_match_no_repository_is_refused(
    language: str, parse: Callable[[str], object], text: Callable[[list[str]], str], pattern: str
) -> None:
    with pytest.raises((PolicyFileInvalid, VerificationError)) as caught:
        parse(text([pattern]))
    message = str(caught.value)
    assert "can match no repository" in message and f"{pattern + '/*'!r}" in message, language


@pytest.mark.parametrize("kind", ["trust", "admission", "reprint"])
def test_each_schema_describes_match_the_same_way(kind: str) -> None:
    schema = json.loads((REPO / "policies" / f"{kind}-policy.v1.schema.json").read_text())
    described = [
        d["properties"]["match"]["description"]
        for name, d in schema["$defs"].items()
        if "match" in d.get("properties", {}) and name != "AliasRuleSpec"
    ]
    assert described == [MATCH_DESCRIPTION], kind


_segment = st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True)


@given(namespace=_segment, model=_segment)
def test_a_namespace_lookup_is_the_lookup_of_any_model(namespace: str, model: str) -> None:
    # Whatever covers every model covers each model: never the other way round.
    for pattern in (f"{namespace}/*", f"{namespace}/**", "**", "*/*"):
        assert rule_matches(pattern, namespace) and rule_matches(pattern, f"{namespace}/{model}")
    assert not rule_matches(f"{namespace}/{model}", namespace)
    assert lookup_name(namespace) == f"{namespace}/*"
    assert lookup_name(f"{namespace}/{model}") == f"{namespace}/{model}"


@pytest.mark.parametrize(
    ("repository", "namespace", "expected"),
    [
        ("acme/tiny", None, "acme/tiny"),
        (None, "acme", "acme"),
        (None, "acme/tiny", "acme/tiny"),  # older command lines: read as the repository
    ],
)
def test_command_line_lookups(repository: str | None, namespace: str | None, expected: str) -> None:
    assert subject_from_options(repository, namespace) == expected


@pytest.mark.parametrize(
    ("repository", "namespace"),
    [(None, None), ("acme/x", "acme"), ("acme", None), ("acme/x/y", None), (None, "../x")],
)
def test_command_line_lookups_refuse_the_malformed(
    repository: str | None, namespace: str | None
) -> None:
    with pytest.raises(ValueError, match=r"--repository|--namespace"):
        subject_from_options(repository, namespace)


def test_the_module_examples_hold() -> None:
    import doctest

    import verifier.policy_documents.rule_matching

    failures, tried = doctest.testmod(verifier.policy_documents.rule_matching)
    assert tried and not failures
