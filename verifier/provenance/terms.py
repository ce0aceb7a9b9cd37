"""Reprint terms and the reprint decision: a pure function of terms, request and rules.

An output manifest carries reprint *terms* (short tokens such as
``attribution``, ``non-commercial``, ``no-derivatives``). A reprint policy says
what each term means (:class:`TermRule`): which reprint purposes it forbids and
whether it requires attribution. :func:`decide_reprint` applies every term to a
:class:`ReprintRequest`:

* no terms at all grant nothing: refused (the creator gave no permission);
* a term the rules do not define is refused (a term we cannot read cannot be
  honoured);
* otherwise each term is checked in the order written; the first that forbids
  the request is named in the :class:`Decision`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PURPOSES",
    "STANDARD_TERMS",
    "Decision",
    "ReprintRequest",
    "TermRule",
    "decide_reprint",
]

Purpose = Literal["reprint", "commercial", "derivative"]
PURPOSES: tuple[Purpose, ...] = ("reprint", "commercial", "derivative")
"""What a term may forbid: any reprint, a commercial one, a derivative work."""


@dataclass(frozen=True, slots=True)
class TermRule:
    """What one reprint term means."""

    forbids: frozenset[Purpose] = frozenset()
    requires_attribution: bool = False


STANDARD_TERMS: Mapping[str, TermRule] = {
    "reprint-allowed": TermRule(),
    "attribution": TermRule(requires_attribution=True),
    "non-commercial": TermRule(forbids=frozenset({"commercial"})),
    "no-derivatives": TermRule(forbids=frozenset({"derivative"})),
    "no-reprint": TermRule(forbids=frozenset({"reprint"})),
}
"""The meaning of the usual terms, as ``policies/reprint-policy.example.yaml`` writes them."""


@dataclass(frozen=True, slots=True)
class ReprintRequest:
    """What the requester wants to do with the image."""

    commercial: bool
    derivative: bool
    attribution: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict: ``forbidding_term`` is the first term that refuses (``None`` if allowed,
    or when the output grants no terms at all)."""

    allowed: bool
    forbidding_term: str | None
    reason: str


def decide_reprint(
    terms: Sequence[str],
    request: ReprintRequest,
    rules: Mapping[str, TermRule] = STANDARD_TERMS,
) -> Decision:
    """Whether ``request`` is allowed under ``terms`` (see the module docstring).

    The hub passes the rules of its reprint policy (``ReprintPolicy.terms``, or
    calls ``ReprintPolicy.decide``); ``STANDARD_TERMS`` is only the default.
    """
    if not terms:
        return Decision(False, None, "the output grants no reprint terms")
    for term in terms:
        rule = rules.get(term)
        if rule is None:
            return Decision(False, term, f"term {term!r} is not defined by the reprint policy")
        if "reprint" in rule.forbids:
            return Decision(False, term, f"term {term!r} forbids any reprint")
        if request.commercial and "commercial" in rule.forbids:
            return Decision(False, term, f"term {term!r} forbids commercial reprints")
        if request.derivative and "derivative" in rule.forbids:
            return Decision(False, term, f"term {term!r} forbids derivative works")
        if rule.requires_attribution and not request.attribution:
            return Decision(False, term, f"term {term!r} requires attribution")
    return Decision(True, None, "every term allows this reprint")
