"""Text from outside: refused at the boundary unless every engine stores it alike.

PostgreSQL refuses a NUL character in text and anything that is not valid
Unicode (a lone surrogate cannot even be encoded as UTF-8); SQLite stores both.
Letting such text through would answer a 500 on one engine and store what the
other refuses on the other, so it is refused once, where it enters:

- the request line and headers, by the ASGI middleware :func:`refuse_invalid_text`
  (every path and query parameter of every route, ``/v2/`` included, and every
  header value, all before any handler or parameter parsing runs; it also refuses
  a ``Content-Length`` that is not a plain decimal below 2^63);
- every JSON request body the framework decodes, by :class:`CheckedRequest`;
- every JSON document the registry parses itself (manifests, hub submissions),
  by :func:`check_document`.

Each refusal is a 400 naming where the text was found.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from registry.errors import InvalidInput, RegistryError
from registry.http.params import integer_problem
from registry.http.problems import handle_registry_error

# NUL, and the surrogate code points: valid in a Python str, never in Unicode text.
_INVALID = re.compile("[\x00\ud800-\udfff]")
# Below 2^63, so every later int() of it is cheap and every comparison meaningful.
_CONTENT_LENGTH = re.compile(rb"[0-9]{1,19}")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text on every engine, or ``None`` if it can."""
    found = _INVALID.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return "contains a lone surrogate (not valid Unicode)"


def check_text(value: str, where: str, error: type[RegistryError] = InvalidInput) -> str:
    """Return ``value`` if it is storable text, else raise ``error`` naming ``where``."""
    problem = text_problem(value)
    if problem is not None:
        raise error(f"{where} {problem}")
    return value


def check_document(document: Any, where: str, error: type[RegistryError] = InvalidInput) -> None:
    """Check every string of a decoded JSON document, object keys included; dataclasses
    (a verified claim, an SBOM index) are walked as their fields.

    Iterative, so a deeply nested document cannot exhaust the stack here.
    """
    pending: list[Any] = [document]
    while pending:
        value = pending.pop()
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            pending.append(dataclasses.asdict(value))
        elif isinstance(value, str):
            check_text(value, f"a string in {where}", error)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str):
                    check_text(key, f"an object key in {where}", error)
                pending.append(item)
        elif isinstance(value, list | tuple):
            pending.extend(value)


def _bytes_problem(raw: bytes, where: str) -> str | None:
    if b"%" in raw:
        raw = unquote_to_bytes(raw)
    if raw.isascii():
        return f"{where} contains a NUL character" if b"\x00" in raw else None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"{where} is not valid UTF-8"
    problem = text_problem(text)
    return None if problem is None else f"{where} {problem}"


def scope_problem(scope: Scope) -> str | None:
    """What is wrong with the request line or headers of ``scope``, if anything."""
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path is not None:
        problem = _bytes_problem(raw_path.split(b"?", 1)[0], "the path")
    else:
        found = text_problem(scope.get("path", ""))
        problem = None if found is None else f"the path {found}"
    if problem is None:
        query: bytes = scope.get("query_string", b"")
        problem = _bytes_problem(query.replace(b"+", b" "), "the query string") if query else None
    if problem is None:
        for name, value in scope.get("headers", ()):
            if b"\x00" in value:
                return f"header {name.decode('latin-1')!r} contains a NUL character"
            if name == b"content-length" and not _CONTENT_LENGTH.fullmatch(value):
                return f"Content-Length {value[:40].decode('latin-1')!r} is not a byte count"
    return problem


def refuse_invalid_text(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: refuse a request whose path, query or headers hold invalid text."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            problem = scope_problem(scope)
            handler = scope.get("route_handler")
            query: bytes = scope.get("query_string", b"")
            if problem is None and query and handler is not None:
                problem = integer_problem(handler, query.decode("utf-8", "replace"))
            if problem is not None:
                # Answered here rather than raised, so the middleware outside (metrics)
                # sees the 400 that is sent, not an exception.
                request: Request[Any, Any, Any] = Request(scope, receive, send)
                response = handle_registry_error(request, InvalidInput(problem))
                await response.to_asgi_response(None, request)(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


class CheckedRequest(Request[Any, Any, Any]):
    """The app's request class: a JSON body is decoded safely and its text checked."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise InvalidInput("the JSON body is nested too deeply") from None
        except ValueError as exc:  # invalid UTF-8 and the like, below the framework's checks
            raise InvalidInput(f"the body is not valid JSON: {exc}") from None
        check_document(value, "the JSON body")
        return value
