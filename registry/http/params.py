"""Integer parameters: bounded to what both engines hold, checked once for every route.

Both databases store signed 64-bit integers; a larger offset, cursor or index
reaching SQL is an overflow (a 500) on one engine or the other. Two layers:

- at run time, for every route, :func:`integer_problem` (called by the input
  guard in :mod:`registry.http.text`) refuses a value past signed 64 bits for any
  parameter the matched handler declares as an integer, so a route that forgot
  its bounds is still safe;
- declared bounds (the annotated types here) give each parameter its sensible
  range (page sizes up to :data:`MAX_PAGE_SIZE`); :func:`unbounded_integers`
  lists the routes that forgot, and a test keeps that list empty.

Integers the registry parses by hand (``n`` on ``/v2/``, ``Range`` and
``Content-Range``) go through :func:`parse_count`, which never hands Python a
4,300-digit string.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Annotated, Any
from urllib.parse import parse_qsl

from litestar import Litestar
from litestar.params import KwargDefinition, ParameterKwarg

from registry.errors import ConfigurationError, InvalidInput, RegistryError
from registry.http.openapi import int_query

MAX_INT64 = 2**63 - 1
MIN_INT64 = -(2**63)
#: The largest page any list endpoint returns.
MAX_PAGE_SIZE = 1000

# Bounds go through int_query so that the published schema states them exactly.
#: How many items a page holds: the lifecycle API's lists.
PageSize = Annotated[int, int_query(ge=1, le=500)]
#: The same for lists of small rows (the audit trail).
LongPageSize = Annotated[int, int_query(ge=1, le=MAX_PAGE_SIZE)]
Offset = Annotated[int, int_query(ge=0, le=MAX_INT64)]
#: Keyset cursor: the last id seen (0 for the first page).
After = Annotated[int, int_query(ge=0, le=MAX_INT64)]
#: Keyset cursor the other way: the first id seen (the page before it); none by default.
Before = Annotated[int | None, int_query(ge=1, le=MAX_INT64)]
#: A size or index in a 64-bit column (the transparency log's tree sizes and indices).
Index = Annotated[int, int_query(ge=0, le=MAX_INT64)]
OptionalIndex = Annotated[int | None, int_query(ge=0, le=MAX_INT64)]

_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_count(
    text: str, what: str, *, maximum: int = MAX_INT64, error: type[RegistryError] = InvalidInput
) -> int:
    """A non-negative decimal integer of ASCII digits, at most ``maximum``; else ``error``."""
    if not _DIGITS.fullmatch(text):
        raise error(f"{what} must be a non-negative integer below 2^63, got {text[:40]!r}")
    value = int(text)
    if value > maximum:
        raise error(f"{what} must be at most {maximum}, got {value}")
    return value


def _is_integer(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in {typing.Union, types.UnionType}:
        return any(_is_integer(arg) for arg in typing.get_args(annotation))
    return False


def unbounded_integers(app: Litestar) -> list[str]:
    """``handler.parameter`` of every integer parameter not bounded within 64 bits."""
    found: list[str] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            for name, field in handler.parsed_fn_signature.parameters.items():
                if not _is_integer(field.annotation):
                    continue
                kwarg = field.kwarg_definition
                bounds = (
                    (kwarg.ge, kwarg.le) if isinstance(kwarg, KwargDefinition) else (None, None)
                )
                low, high = bounds
                if low is None or high is None or low < MIN_INT64 or high > MAX_INT64:
                    found.append(f"{handler.handler_name}.{name}")
    return found


def require_bounded_integers(app: Litestar) -> None:
    """Raise if a route's integer parameter has no declared bounds within 64 bits."""
    unbounded = unbounded_integers(app)
    if unbounded:
        raise ConfigurationError(
            "integer parameters without bounds within signed 64 bits (use "
            f"registry.http.params): {', '.join(sorted(unbounded))}"
        )


_INTEGER_LITERAL = re.compile(r"\s*[+-]?([0-9]+)\s*")
# Handler function -> names of its integer query parameters (computed once: functions
# are defined once, while each app makes its own handler objects from them).
_INTEGER_QUERY: dict[Any, frozenset[str]] = {}


def _integer_query_names(handler: Any) -> frozenset[str]:
    key = handler.fn
    names = _INTEGER_QUERY.get(key)
    if names is None:
        names = frozenset(
            field.kwarg_definition.query or name
            if isinstance(field.kwarg_definition, ParameterKwarg)
            else name
            for name, field in handler.parsed_fn_signature.parameters.items()
            if _is_integer(field.annotation)
        )
        _INTEGER_QUERY[key] = names
    return names


def integer_problem(handler: Any, query: str) -> str | None:
    """Why a query value for one of ``handler``'s integer parameters cannot be stored."""
    names = _integer_query_names(handler)
    if not names:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in names:
            continue
        literal = _INTEGER_LITERAL.fullmatch(value)
        if literal is None:
            continue  # not an integer: the parameter's own validation answers
        if len(literal.group(1)) > 19 or not MIN_INT64 <= int(value) <= MAX_INT64:
            return f"query parameter {name!r} must be within signed 64 bits"
    return None
