"""Trust policy files: YAML, validated against a published JSON schema, loaded into policy objects.

Example (``policies/trust-policy.example.yaml`` has a longer one)::

    version: 1
    namespaces:
      - match: "acme/**"
        threshold: 2
        signers:
          - {name: alice, public_key: keys/alice.pub}
          - {name: bob, public_key: keys/bob.pub}
          - name: release-ci
            sigstore:
              issuer: https://token.actions.githubusercontent.com
              identity: https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main

Rules are tried in file order and the first whose ``match`` pattern fits the
namespace applies (``*`` = within one segment, ``**`` = any segments, anchored
at both ends). A namespace no rule matches is refused. Every error names the
file and line at fault; unknown fields and duplicate keys are errors.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the lock (types-jsonschema)
import yaml
from cryptography import x509

from signing.errors import KeyLoadError
from signing.keys import load_public_key
from verifier.errors import MaterialUnreadable, NoPolicyForNamespace, PolicyFileInvalid
from verifier.policy import Audit, Policy, Threshold
from verifier.trust import (
    SubjectConstraint,
    TrustedCertificateAuthority,
    TrustedKey,
    TrustedSigner,
    TrustedSigstoreIdentity,
)

__all__ = ["NamespaceRule", "TrustPolicy", "load_trust_policy", "parse_trust_policy", "schema"]

_logger = logging.getLogger(__name__)
_SIGNER_KINDS = ("public_key", "public_key_pem", "certificate_authority", "sigstore")


@cache
def schema() -> dict[str, Any]:
    """The trust policy JSON schema (also published as ``policies/trust-policy.v1.schema.json``)."""
    text = resources.files("verifier").joinpath("schemas/trust-policy.v1.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = []
    for piece in re.split(r"(\*\*/?|\*)", pattern):
        if piece == "**/":
            out.append("(?:.*/)?")
        elif piece == "**":
            out.append(".*")
        elif piece == "*":
            out.append("[^/]*")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out))


@dataclass(frozen=True, slots=True)
class NamespaceRule:
    """One ``namespaces[]`` entry."""

    match: str
    level: str
    threshold: int
    signers: tuple[TrustedSigner, ...]
    line: int

    def matches(self, namespace: str) -> bool:
        """Whether the anchored pattern matches ``namespace``."""
        return _pattern_regex(self.match).fullmatch(namespace) is not None

    def as_policy(self) -> Policy:
        """The policy object this rule stands for."""
        threshold = Threshold(
            self.threshold, self.signers, name=f"rule {self.match!r} (line {self.line})"
        )
        if self.level == "audit":
            return Audit(threshold, label=f"rule {self.match!r}")
        return threshold


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """A loaded trust policy file."""

    rules: tuple[NamespaceRule, ...]
    source: str = ""

    def rule_for(self, namespace: str) -> NamespaceRule:
        """The first rule matching ``namespace``; raises :class:`NoPolicyForNamespace`."""
        for rule in self.rules:
            if rule.matches(namespace):
                return rule
        raise NoPolicyForNamespace(
            f"no rule of trust policy {self.source or '<policy>'} covers namespace {namespace!r}"
        )

    def policy_for(self, namespace: str) -> Policy:
        """The policy to verify models of ``namespace`` with."""
        return self.rule_for(namespace).as_policy()


class _Located:
    """Line numbers for JSON paths in a composed YAML document."""

    def __init__(self, root: yaml.Node) -> None:
        self.root = root

    def node(self, path: Sequence[str | int]) -> yaml.Node:
        node = self.root
        for step in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == step:
                        child = value
                        break
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(step, int)
                and 0 <= step < len(node.value)
            ):
                child = node.value[step]
            if child is None:
                break
            node = child
        return node

    def line(self, path: Sequence[str | int], key: str | None = None) -> int:
        node = self.node(path)
        if key is not None and isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if key_node.value == key:
                    return int(key_node.start_mark.line) + 1
        return int(node.start_mark.line) + 1


def _where(path: Sequence[str | int]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "the document"


def _check_duplicates(node: yaml.Node, source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key, value in node.value:
            line = int(key.start_mark.line) + 1
            if key.value in seen:
                raise PolicyFileInvalid(
                    f"duplicate key {key.value!r} (first at line {seen[key.value]})",
                    source=source,
                    line=line,
                )
            seen[key.value] = line
            _check_duplicates(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item, source)


def _schema_error(
    error: jsonschema.ValidationError, located: _Located, source: str
) -> PolicyFileInvalid:
    path = list(error.absolute_path)
    where = _where(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in allowed)
        if unknown:
            return PolicyFileInvalid(
                f"unknown field {unknown[0]!r} in {where} (allowed: {', '.join(sorted(allowed))})",
                source=source,
                line=located.line(path, unknown[0]),
            )
    if error.validator == "oneOf" and isinstance(error.instance, Mapping):
        options = _SIGNER_KINDS if "name" in error.instance else ("identity", "identity_pattern")
        given = ", ".join(k for k in options if k in error.instance) or "none"
        return PolicyFileInvalid(
            f"{where} needs exactly one of {', '.join(options)} (found: {given})",
            source=source,
            line=located.line(path),
        )
    if error.validator == "required":
        return PolicyFileInvalid(
            f"{where}: {error.message}", source=source, line=located.line(path)
        )
    return PolicyFileInvalid(f"{where}: {error.message}", source=source, line=located.line(path))


def parse_trust_policy(text: str, *, source: str = "", base_dir: Path | None = None) -> TrustPolicy:
    """Parse policy YAML text; relative key and certificate paths resolve against ``base_dir``."""
    base = base_dir or Path()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        raise PolicyFileInvalid(f"not valid YAML: {exc.problem}", source=source, line=line) from exc
    except yaml.YAMLError as exc:
        raise PolicyFileInvalid(f"not valid YAML: {exc}", source=source) from exc
    if root is None:
        raise PolicyFileInvalid("the policy file is empty", source=source, line=1)
    _check_duplicates(root, source)
    data = yaml.safe_load(text)
    located = _Located(root)
    validator = jsonschema.Draft202012Validator(schema())
    errors = list(validator.iter_errors(data))
    problems = [_schema_error(e, located, source) for e in errors]
    if problems:
        # An unknown field (a typo) explains the other errors of its object best;
        # otherwise the earliest line at fault. More follow once it is fixed.
        unknown = [
            p
            for p, e in zip(problems, errors, strict=True)
            if e.validator == "additionalProperties"
        ]
        first = min(unknown or problems, key=lambda p: p.line or 0)
        if len(problems) > 1:
            first.args = (f"{first.args[0]} (and {len(problems) - 1} more problem(s))",)
        raise first

    rules = []
    roots_cache: dict[str, object] = {}
    for index, raw in enumerate(data["namespaces"]):
        path: list[str | int] = ["namespaces", index]
        signers = tuple(
            _build_signer(raw_signer, [*path, "signers", i], located, source, base, roots_cache)
            for i, raw_signer in enumerate(raw["signers"])
        )
        threshold = int(raw.get("threshold", 1))
        distinct = _distinct_count(signers)
        if threshold > distinct:
            raise PolicyFileInvalid(
                f"threshold {threshold} exceeds the {distinct} distinct signer(s) listed"
                + (" (some entries are the same key)" if distinct < len(signers) else ""),
                source=source,
                line=located.line(path, "threshold"),
            )
        if distinct < len(signers):
            _logger.warning(
                "%s:%d: some signers of rule %r are the same key; they count once",
                source,
                located.line(path),
                raw["match"],
            )
        rules.append(
            NamespaceRule(
                raw["match"],
                raw.get("level", "enforce"),
                threshold,
                signers,
                located.line(path),
            )
        )
    return TrustPolicy(tuple(rules), source)


def _distinct_count(signers: Sequence[TrustedSigner]) -> int:
    keys = {s.key_id for s in signers if isinstance(s, TrustedKey)}
    others = {
        (s.issuer, s.identity, s.identity_pattern)
        for s in signers
        if isinstance(s, TrustedSigstoreIdentity)
    }
    cas = [s for s in signers if isinstance(s, TrustedCertificateAuthority)]
    return len(keys) + len(others) + len(cas)


def _read(base: Path, name: str, what: str, source: str, line: int) -> bytes:
    path = Path(name) if Path(name).is_absolute() else base / name
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PolicyFileInvalid(
            f"cannot read {what} {str(path)!r}: {exc.strerror}", source=source, line=line
        ) from exc


def _certificates(
    base: Path, names: Sequence[str], source: str, line: int
) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for name in names:
        try:
            certs.extend(
                x509.load_pem_x509_certificates(_read(base, name, "certificate", source, line))
            )
        except ValueError as exc:
            raise PolicyFileInvalid(
                f"{name!r} holds no PEM certificate: {exc}", source=source, line=line
            ) from exc
    return certs


def _build_signer(
    raw: Mapping[str, Any],
    path: list[str | int],
    located: _Located,
    source: str,
    base: Path,
    roots_cache: dict[str, object],
) -> TrustedSigner:
    name = str(raw["name"])
    if "public_key" in raw or "public_key_pem" in raw:
        field = "public_key" if "public_key" in raw else "public_key_pem"
        line = located.line(path, field)
        data = (
            _read(base, raw["public_key"], "public key", source, line)
            if field == "public_key"
            else str(raw["public_key_pem"]).encode()
        )
        try:
            return TrustedKey(load_public_key(data), name=name)
        except KeyLoadError as exc:
            raise PolicyFileInvalid(f"signer {name!r}: {exc}", source=source, line=line) from exc
    if "certificate_authority" in raw:
        ca = raw["certificate_authority"]
        line = located.line(path, "certificate_authority")
        for pattern in filter(None, [ca.get("san_pattern")]):
            _compile(pattern, source, line)
        return TrustedCertificateAuthority(
            _certificates(base, ca["roots"], source, line),
            intermediates=_certificates(base, ca.get("intermediates", []), source, line),
            constraint=SubjectConstraint(
                subject=ca.get("subject"),
                common_name=ca.get("common_name"),
                san=ca.get("san"),
                san_pattern=ca.get("san_pattern"),
            ),
            name=name,
        )
    sig = raw["sigstore"]
    line = located.line(path, "sigstore")
    if sig.get("identity_pattern") is not None:
        _compile(sig["identity_pattern"], source, line)
    root_name = str(sig.get("trusted_root", "production"))
    if root_name not in roots_cache:
        from verifier.sigstore import load_trusted_root

        target: str | os.PathLike[str] = root_name
        if root_name not in ("production", "staging") and not Path(root_name).is_absolute():
            target = base / root_name
        try:
            roots_cache[root_name] = load_trusted_root(target)
        except MaterialUnreadable as exc:
            raise PolicyFileInvalid(str(exc), source=source, line=line) from exc
    return TrustedSigstoreIdentity(
        issuer=sig["issuer"],
        identity=sig.get("identity"),
        identity_pattern=sig.get("identity_pattern"),
        trusted_root=roots_cache[root_name],
        name=name,
    )


def _compile(pattern: str, source: str, line: int) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise PolicyFileInvalid(
            f"invalid regular expression {pattern!r}: {exc}", source=source, line=line
        ) from exc


def load_trust_policy(path: str | os.PathLike[str]) -> TrustPolicy:
    """Load a trust policy file; raises :class:`~verifier.errors.PolicyFileInvalid`."""
    policy_path = Path(path)
    try:
        text = policy_path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileInvalid(
            f"cannot read the policy file: {exc}", source=str(policy_path)
        ) from exc
    return parse_trust_policy(text, source=str(policy_path), base_dir=policy_path.parent)
