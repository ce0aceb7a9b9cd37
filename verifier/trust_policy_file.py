"""Trust policy files: YAML into typed models, models into policy objects.

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

A rule's ``match`` is a glob over the repository name ``namespace/model``
(:mod:`verifier.policy_documents.rule_matching`, shared by every policy language): rules are tried
in file order and the first that matches applies; a lookup by namespace alone is
the lookup of ``namespace/*``. A repository no rule matches is refused. Every
error names the file and line at fault; unknown fields and duplicate keys are
errors.

The file is read into frozen ``msgspec`` models (:class:`TrustPolicySpec` and
friends) that reject unknown fields, and each model builds its own trusted
signer or policy object. The published JSON schema
(``policies/trust-policy.v1.schema.json``) is generated from these models by
:func:`schema`, so the two cannot drift apart.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from cryptography import x509

from verifier._sigstore import load_trusted_root
from verifier.errors import MaterialUnreadable, NoPolicyForNamespace
from verifier.policy_documents.document import (
    PolicyDocument,
    load_policy_document,
    read_policy_file,
)
from verifier.policy_documents.rule_matching import (
    MatchingRule,
    RepositoryPattern,
    check_rule_pattern,
    matching_rule,
)
from verifier.policy_documents.specs import KeySpec, NonEmpty, PolicySpec
from verifier.policy_documents.yaml_reader import published_schema
from verifier.signature_policies import Audit, Policy, Threshold
from verifier.trust import (
    SubjectConstraint,
    TrustedCertificateAuthority,
    TrustedKey,
    TrustedSigner,
    TrustedSigstoreIdentity,
)

__all__ = [
    "NamespaceRule",
    "NamespaceRuleSpec",
    "SignerSpec",
    "TrustPolicy",
    "TrustPolicySpec",
    "load_trust_policy",
    "parse_trust_policy",
    "schema",
]

_logger = logging.getLogger(__name__)
_SCHEMA_ID = "https://custody.invalid/schemas/trust-policy.v1.schema.json"


class CertificateAuthoritySpec(PolicySpec, frozen=True, kw_only=True):
    """``certificate_authority``: CA roots whose constrained leaf certificates may sign."""

    roots: Annotated[
        list[NonEmpty], msgspec.Meta(min_length=1, description="PEM files of the trusted roots.")
    ]
    intermediates: Annotated[
        list[NonEmpty], msgspec.Meta(description="PEM files of intermediate CAs.")
    ] = []
    subject: Annotated[
        str | None,
        msgspec.Meta(description="Exact RFC 4514 subject, e.g. 'CN=release,O=Acme'."),
    ] = None
    common_name: Annotated[str | None, msgspec.Meta(description="Exact common name.")] = None
    san: Annotated[
        str | None, msgspec.Meta(description="A SAN (e-mail, URI, DNS) the leaf must carry.")
    ] = None
    san_pattern: Annotated[
        str | None,
        msgspec.Meta(description="Regular expression one SAN must match in full (anchored)."),
    ] = None

    def __post_init__(self) -> None:
        _check_regex(self.san_pattern)


class SigstoreSpec(PolicySpec, frozen=True, kw_only=True):
    """``sigstore``: a keyless identity, exact unless ``identity_pattern`` is written."""

    issuer: Annotated[str, msgspec.Meta(min_length=1, description="Exact OIDC issuer URL.")]
    identity: (
        Annotated[
            str, msgspec.Meta(min_length=1, description="Exact identity: e-mail or workflow URI.")
        ]
        | None
    ) = None
    identity_pattern: (
        Annotated[
            str,
            msgspec.Meta(
                min_length=1, description="Regular expression the identity must match in full."
            ),
        ]
        | None
    ) = None
    trusted_root: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description="'production', 'staging' (roots shipped with sigstore) or a "
            "trusted_root.json / ClientTrustConfig file.",
        ),
    ] = "production"

    def __post_init__(self) -> None:
        if (self.identity is None) == (self.identity_pattern is None):
            raise ValueError("needs exactly one of identity, identity_pattern")
        _check_regex(self.identity_pattern)


_SIGNER_KINDS = ("public_key", "public_key_pem", "certificate_authority", "sigstore")


class SignerSpec(KeySpec, frozen=True, kw_only=True):
    """One trusted signer: exactly one of a key file, an inline key, a CA, a Sigstore identity."""

    certificate_authority: CertificateAuthoritySpec | None = None
    sigstore: SigstoreSpec | None = None

    def __post_init__(self) -> None:
        given = [k for k in _SIGNER_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"needs exactly one of {', '.join(_SIGNER_KINDS)} "
                f"(found: {', '.join(given) or 'none'})"
            )


class NamespaceRuleSpec(PolicySpec, frozen=True, kw_only=True):
    """One ``namespaces[]`` entry."""

    match: RepositoryPattern
    signers: Annotated[list[SignerSpec], msgspec.Meta(min_length=1)]
    description: str = ""
    level: Annotated[
        Literal["enforce", "audit"],
        msgspec.Meta(description="enforce: failures block. audit: failures are only reported."),
    ] = "enforce"
    threshold: Annotated[
        int,
        msgspec.Meta(ge=1, description="Distinct trusted signers (keys / identities) required."),
    ] = 1

    def __post_init__(self) -> None:
        check_rule_pattern(self.match)


class TrustPolicySpec(PolicySpec, frozen=True, kw_only=True):
    """The whole file."""

    version: Literal[1]
    namespaces: list[NamespaceRuleSpec]


def _check_regex(pattern: str | None) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def schema() -> dict[str, Any]:
    """The JSON schema of trust policy files, generated from the models.

    ``policies/trust-policy.v1.schema.json`` is this, published. The
    "exactly one of" rules are added as ``oneOf`` (the models check them in code).
    Regenerate the published file with::

        python -c "import json, verifier.trust_policy_file as p; \
print(json.dumps(p.schema(), indent=2))" > policies/trust-policy.v1.schema.json
    """
    return published_schema(
        TrustPolicySpec,
        schema_id=_SCHEMA_ID,
        title="Custody trust policy v1",
        description=(
            "Maps repository patterns ('namespace/model' globs) to the signers trusted to sign "
            "models in them. Rules are tried in order; the first whose pattern matches applies; "
            "a repository no rule matches is refused. Relative paths are relative to the policy "
            "file."
        ),
        one_of={
            "SignerSpec": [{"required": [k]} for k in _SIGNER_KINDS],
            "SigstoreSpec": [{"required": ["identity"]}, {"required": ["identity_pattern"]}],
        },
    )


@dataclass(frozen=True, slots=True)
class NamespaceRule(MatchingRule):
    """A loaded ``namespaces[]`` entry: its pattern and its trusted signers."""

    match: str
    level: str
    threshold: int
    signers: tuple[TrustedSigner, ...]
    line: int

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

    def rule_for(self, subject: str) -> NamespaceRule:
        """The first rule matching ``subject`` (``namespace/model``, or a bare namespace).

        Raises :class:`NoPolicyForNamespace` when no rule matches.
        """
        return matching_rule(
            self.rules,
            subject,
            missing=NoPolicyForNamespace,
            policy=f"trust policy {self.source or '<policy>'}",
        )

    def policy_for(self, subject: str) -> Policy:
        """The policy to verify the models of ``subject`` with (see :meth:`rule_for`)."""
        return self.rule_for(subject).as_policy()


def parse_trust_policy(text: str, *, source: str = "", base_dir: Path | None = None) -> TrustPolicy:
    """Parse policy YAML text; relative key and certificate paths resolve against ``base_dir``."""
    spec, document = load_policy_document(
        text,
        TrustPolicySpec,
        source=source,
        base_dir=base_dir,
        models=(NamespaceRuleSpec, SignerSpec, CertificateAuthoritySpec, SigstoreSpec),
    )
    builder = _Builder(document)
    return TrustPolicy(
        tuple(builder.rule(rule, index) for index, rule in enumerate(spec.namespaces)), source
    )


class _Builder:
    """Turns the validated models into trusted signers, reading the files they name."""

    def __init__(self, document: PolicyDocument) -> None:
        self.document = document
        self.roots: dict[str, object] = {}

    def rule(self, spec: NamespaceRuleSpec, index: int) -> NamespaceRule:
        path: list[str | int] = ["namespaces", index]
        signers = tuple(self.signer(s, [*path, "signers", i]) for i, s in enumerate(spec.signers))
        distinct = _distinct_count(signers)
        if spec.threshold > distinct:
            raise self.document.fail(
                f"threshold {spec.threshold} exceeds the {distinct} distinct signer(s) listed"
                + (" (some entries are the same key)" if distinct < len(signers) else ""),
                self.document.line(path, "threshold"),
            )
        if distinct < len(signers):
            _logger.warning(
                "%s:%d: some signers of rule %r are the same key; they count once",
                self.document.source,
                self.document.line(path),
                spec.match,
            )
        return NamespaceRule(
            spec.match, spec.level, spec.threshold, signers, self.document.line(path)
        )

    def certificates(self, names: Sequence[str], line: int) -> list[x509.Certificate]:
        certs: list[x509.Certificate] = []
        for name in names:
            try:
                certs.extend(
                    x509.load_pem_x509_certificates(self.document.read(name, "certificate", line))
                )
            except ValueError as exc:
                raise self.document.fail(f"{name!r} holds no PEM certificate: {exc}", line) from exc
        return certs

    def signer(self, spec: SignerSpec, path: list[str | int]) -> TrustedSigner:
        if spec.key_field is not None:
            key = self.document.public_key(spec, path, label=f"signer {spec.name!r}")
            return TrustedKey(key, name=spec.name)
        if spec.certificate_authority is not None:
            ca = spec.certificate_authority
            line = self.document.line(path, "certificate_authority")
            return TrustedCertificateAuthority(
                self.certificates(ca.roots, line),
                intermediates=self.certificates(ca.intermediates, line),
                constraint=SubjectConstraint(
                    subject=ca.subject,
                    common_name=ca.common_name,
                    san=ca.san,
                    san_pattern=ca.san_pattern,
                ),
                name=spec.name,
            )
        sig = spec.sigstore
        line = self.document.line(path, "sigstore")
        if sig is None:  # pragma: no cover - SignerSpec guarantees one kind
            raise self.document.fail(f"signer {spec.name!r} has no trust material", line)
        if sig.trusted_root not in self.roots:
            target: str | os.PathLike[str] = sig.trusted_root
            if sig.trusted_root not in ("production", "staging"):
                target = self.document.base / sig.trusted_root
            try:
                self.roots[sig.trusted_root] = load_trusted_root(target)
            except MaterialUnreadable as exc:
                raise self.document.fail(str(exc), line) from exc
        return TrustedSigstoreIdentity(
            issuer=sig.issuer,
            identity=sig.identity,
            identity_pattern=sig.identity_pattern,
            trusted_root=self.roots[sig.trusted_root],
            name=spec.name,
        )


def _distinct_count(signers: Sequence[TrustedSigner]) -> int:
    keys = {s.key_id for s in signers if isinstance(s, TrustedKey)}
    identities = {
        (s.issuer, s.identity, s.identity_pattern)
        for s in signers
        if isinstance(s, TrustedSigstoreIdentity)
    }
    authorities = [s for s in signers if isinstance(s, TrustedCertificateAuthority)]
    return len(keys) + len(identities) + len(authorities)


def load_trust_policy(path: str | os.PathLike[str]) -> TrustPolicy:
    """Load a trust policy file; raises :class:`~verifier.errors.PolicyFileInvalid`."""
    text, _ = read_policy_file(path)
    policy_path = Path(path)
    return parse_trust_policy(text, source=str(policy_path), base_dir=policy_path.parent)
