"""What a policy rule's ``match`` is matched against: one definition for every policy language.

The trust, admission and reprint policies all pick a rule per model the same way
(ADR 0012):

1. A rule's ``match`` is a glob over the full repository name ``namespace/model``,
   anchored at both ends: ``*`` matches within one segment, ``**`` any number of
   segments. ``acme/*`` (or ``acme/**``) is every model of namespace ``acme``,
   ``acme/sd-turbo`` one model, ``**`` everything.
2. A lookup that knows the repository (the registry, the edge agent, the hub,
   ``--repository``) matches that name.
3. A lookup that knows only a namespace (``custody verify --namespace acme``) is
   the lookup of *any* model of it, the literal name ``acme/*``. ``*`` in a name
   is matched only by a wildcard, so a rule applies only if it covers every model
   of the namespace: ``acme/*``, ``acme/**`` and ``**`` do, ``acme/sd-*`` and
   ``acme/sd-turbo`` do not.
4. Rules are tried in file order; the first that matches applies.
5. A pattern that can match no repository (``acme``: no ``/`` and no ``**``) is
   refused when the file loads, so a policy written for namespaces fails loudly
   instead of silently covering nothing.

Example::

    >>> rule_matches("acme/*", "acme/sd-turbo"), rule_matches("acme/*", "acme")
    (True, True)
    >>> rule_matches("acme/sd-*", "acme"), rule_matches("acme/**", "acme-research/x")
    (False, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated, Protocol, TypeVar

import msgspec

__all__ = [
    "MATCH_DESCRIPTION",
    "MatchingRule",
    "RepositoryPattern",
    "check_rule_pattern",
    "describe_subject",
    "first_matching_rule",
    "lookup_name",
    "matching_rule",
    "pattern_regex",
    "rule_matches",
    "subject_from_options",
]

#: The ``description`` of ``match`` in every policy schema.
MATCH_DESCRIPTION = (
    "Glob over the full repository name 'namespace/model', anchored at both ends: '*' "
    "matches within one segment, '**' any segments. 'acme/*' (or 'acme/**') is every model "
    "of namespace acme, 'acme/sd-turbo' one model. A lookup that knows only a namespace "
    "(e.g. 'custody verify --namespace acme') is the repository 'acme/*': only rules that "
    "cover every model of the namespace apply. The first matching rule applies."
)

#: The ``match`` field of a rule, in every policy language.
RepositoryPattern = Annotated[
    str,
    msgspec.Meta(min_length=1, pattern=r"^[A-Za-z0-9._*/-]+$", description=MATCH_DESCRIPTION),
]

_ANY_MODEL = "*"


@lru_cache(maxsize=1024)
def pattern_regex(pattern: str) -> re.Pattern[str]:
    """An anchored glob: ``*`` within one segment, ``**`` any segments (use ``fullmatch``)."""
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


def check_rule_pattern(pattern: str) -> None:
    """Raise ``ValueError`` for a ``match`` that can match no ``namespace/model`` name."""
    if "/" not in pattern and "**" not in pattern:
        raise ValueError(
            f"match {pattern!r} can match no repository: a rule's match is a glob over "
            f"'namespace/model' (write {pattern + '/*'!r} for every model of the namespace)"
        )


def lookup_name(subject: str) -> str:
    """The name a lookup matches: a repository as is, a bare namespace as ``namespace/*``."""
    return subject if "/" in subject else f"{subject}/{_ANY_MODEL}"


def rule_matches(pattern: str, subject: str) -> bool:
    """Whether a rule whose ``match`` is ``pattern`` applies to ``subject`` (see the module)."""
    return pattern_regex(pattern).fullmatch(lookup_name(subject)) is not None


class _Rule(Protocol):
    @property
    def match(self) -> str: ...


RuleT = TypeVar("RuleT", bound=_Rule)


def first_matching_rule(rules: Iterable[RuleT], subject: str) -> RuleT | None:
    """The first of ``rules`` whose ``match`` applies to ``subject``, in file order."""
    return next((rule for rule in rules if rule_matches(rule.match, subject)), None)


def matching_rule(
    rules: Iterable[RuleT], subject: str, *, missing: type[Exception], policy: str
) -> RuleT:
    """The first of ``rules`` for ``subject``; raises ``missing`` naming ``policy`` if none."""
    rule = first_matching_rule(rules, subject)
    if rule is None:
        raise missing(f"no rule of {policy} covers " + describe_subject(subject))
    return rule


class MatchingRule:
    """Base of a loaded rule: it applies where its ``match`` glob does."""

    __slots__ = ()
    match: str

    def matches(self, subject: str) -> bool:
        """Whether this rule applies to ``subject`` (a repository, or a bare namespace)."""
        return rule_matches(self.match, subject)


def describe_subject(subject: str) -> str:
    """``repository 'acme/x'`` or ``namespace 'acme' (any model: 'acme/*')``, for messages."""
    if "/" in subject and not subject.endswith("/" + _ANY_MODEL):
        return f"repository {subject!r}"
    namespace = subject.split("/", 1)[0]
    return f"namespace {namespace!r} (any model: {lookup_name(namespace)!r})"


_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def subject_from_options(repository: str | None, namespace: str | None) -> str:
    """The lookup subject of a command line's ``--repository`` / ``--namespace``.

    Exactly one must be given. ``--repository`` is ``namespace/model``;
    ``--namespace`` is a bare namespace (any model of it). A ``--namespace`` value
    holding a ``/`` is read as the repository it names (older command lines
    passed repositories there, and a namespace never holds one). Raises
    ``ValueError``.
    """
    if (repository is None) == (namespace is None):
        raise ValueError(
            "give exactly one of --repository NAMESPACE/MODEL or --namespace NAMESPACE"
        )
    if namespace is not None and "/" in namespace:
        repository, namespace = namespace, None
    if repository is not None:
        parts = repository.split("/")
        if len(parts) != 2 or not all(_COMPONENT.match(p) for p in parts):
            raise ValueError(f"--repository {repository!r} is not NAMESPACE/MODEL")
        return repository
    if namespace is None or not _COMPONENT.match(namespace):
        raise ValueError(f"--namespace {namespace!r} is not a namespace name")
    return namespace
