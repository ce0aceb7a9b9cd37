"""Which versions a signer search finds: what a user types, read as the identities that the
registry's verdicts record (``signature_verifications.principals``, :mod:`verifier.identity`).

A search term ``T`` matches a version with a **verified** signature whose

* key id is ``T`` (``key:`` optional): 64 hex digits exactly, or a prefix of at least
  8 (key ids are often shown cut to 16); ML-DSA ids keep their ``ML_DSA_65:`` prefix.
  Sigstore's ephemeral keys are no identity and never match;
* certificate or Sigstore identity is ``T`` exactly: the SAN (e-mail, URI) or the
  certificate subject (RFC 4514), under any issuer; an e-mail address compares without
  regard to case (ASCII case on SQLite, the database's on PostgreSQL: ``lower()`` on both
  sides, so an identity typed as recorded always matches);
* trust-policy signer name (``trusted_as``, the rule's ``name``) is ``T`` exactly.

Failed verdicts never match: a search answers "signed by", not "signature attached by".
No ``LIKE`` here: prefixes compare with ``substr`` and fragments are found with
``instr``/``strpos``, so ``%`` and ``_`` in a term are plain characters. Principals live
in a JSON array, read with the engine's own set-returning function (``json_each`` on
SQLite, ``json_array_elements_text`` on PostgreSQL), after a substring test on the JSON
text has set aside the rows that cannot match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, and_, cast, exists, func, literal, or_, select

from registry.db.models import SignatureVerification
from registry.errors import ConfigurationError, InvalidInput

__all__ = ["MAX_SIGNER_LENGTH", "SignerTerm", "parse_signer", "signed_by"]

#: The longest term worth comparing: the ``signer`` column's width (a URI SAN can be long).
MAX_SIGNER_LENGTH = 512
_MIN_KEY_PREFIX = 8
_KEY_ID = re.compile(
    rf"(?:key:)?(?P<scheme>ML_DSA_65:)?(?P<hex>[0-9a-fA-F]{{{_MIN_KEY_PREFIX},64}})\Z"
)
#: Only a plain address folds case: a URI SAN (``https://...@refs/heads/main``) does not.
_EMAIL = re.compile(r"[^@\s/:]+@[^@\s/:]+\Z")
_SUBJECT = "subject:"
#: Terms the JSON text holds verbatim (see :func:`_prefilter`).
_PLAIN = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+\Z")


@dataclass(frozen=True, slots=True)
class SignerTerm:
    """A parsed search term: the text, and the key-id principal it can also spell."""

    text: str
    #: ``key:<id>`` (or its prefix) when the term looks like a key id, else ``None``.
    key_principal: str | None
    key_is_prefix: bool
    email: bool


def parse_signer(text: str) -> SignerTerm:
    """Read a signer search term; raise :class:`InvalidInput` (400) for an empty one."""
    term = text.strip()
    if not term:
        raise InvalidInput("signer: give a key id, an identity (e-mail, URI) or a signer name")
    if len(term) > MAX_SIGNER_LENGTH:
        raise InvalidInput(f"signer: at most {MAX_SIGNER_LENGTH} characters")
    key_principal, is_prefix = None, False
    match = _KEY_ID.match(term)
    if match is not None:
        hex_digits = match.group("hex").lower()
        key_principal = f"key:{match.group('scheme') or ''}{hex_digits}"
        is_prefix = len(hex_digits) < 64
    return SignerTerm(term, key_principal, is_prefix, _EMAIL.match(term) is not None)


def _principal_values(dialect: str) -> Any:
    """The principals of the outer query's verdict row, one row per principal (``value``)."""
    column = SignatureVerification.principals
    if dialect == "postgresql":
        return func.json_array_elements_text(column).table_valued("value")
    if dialect == "sqlite":
        return func.json_each(column).table_valued("value")
    raise ConfigurationError(  # pragma: no cover - settings refuse other engines at start-up
        f"database {dialect!r} is not supported (use sqlite or postgresql)"
    )


def _position(dialect: str, text: Any, fragment: Any) -> ColumnElement[int]:
    """1-based position of ``fragment`` in ``text``; 0 when absent."""
    return func.strpos(text, fragment) if dialect == "postgresql" else func.instr(text, fragment)


def _after_first_bar(dialect: str, value: Any) -> ColumnElement[str]:
    """``subject:<issuer>|<identity>`` -> ``<identity>`` (issuers are URLs or DNs, no ``|``)."""
    return func.substr(value, _position(dialect, value, "|") + 1)


def _prefilter(term: SignerTerm, dialect: str) -> ColumnElement[bool] | None:
    """A cheap superset test on the stored JSON text, so that only rows that may match are
    parsed: a principal the term can match appears in that text as ``"key:<id>`` or
    ``|<identity>"``, letter case aside. Only for terms of printable ASCII without ``"``
    or ``\\``, which every JSON serializer writes unescaped; others skip it."""
    if _PLAIN.match(term.text) is None:
        return None
    raw = func.lower(cast(SignatureVerification.principals, Text))
    fragments = [f'|{term.text}"']
    if term.key_principal is not None:
        fragments.append(f'"{term.key_principal}' + ("" if term.key_is_prefix else '"'))
    return or_(*(_position(dialect, raw, f.lower()) > 0 for f in fragments))


def signed_by(term: SignerTerm, dialect: str) -> Select[Any]:
    """The ids of the manifests (versions) with a verified signature by ``term``."""
    values = _principal_values(dialect)
    value = values.c.value
    identity = _after_first_bar(dialect, value)
    same = (
        func.lower(identity) == func.lower(literal(term.text))
        if term.email
        else identity == term.text
    )
    principal_matches: list[ColumnElement[bool]] = [
        (func.substr(value, 1, len(_SUBJECT)) == _SUBJECT) & same
    ]
    if term.key_principal is not None:
        key = term.key_principal
        principal_matches.append(
            func.substr(value, 1, len(key)) == key if term.key_is_prefix else value == key
        )
    by_principal: ColumnElement[bool] = exists(
        select(literal(1)).select_from(values).where(or_(*principal_matches))
    )
    cheap = _prefilter(term, dialect)
    if cheap is not None:
        by_principal = and_(cheap, by_principal)
    return select(SignatureVerification.subject_manifest_id).where(
        SignatureVerification.outcome == "verified",
        # The name first: a cheap column test that spares the JSON scan when it matches.
        or_(SignatureVerification.trusted_as == term.text, by_principal),
    )
