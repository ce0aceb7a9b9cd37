"""The web pages' session: a token entered once, kept in a cookie, checked like a header.

The cookie holds the API token itself (nothing is stored server-side, so every replica
accepts it and revoking the token ends the session at once). It is ``HttpOnly`` (no
script reads it), ``SameSite=Strict`` (no other site's page sends it), limited to
``/ui`` (the JSON API and ``/v2/`` never see it) and a session cookie (it dies with the
browser). It is ``Secure`` unless the page was served over plain http to a loopback
host: a browser keeps a ``Secure`` cookie for ``http://127.0.0.1`` and ``localhost``
(they are secure contexts), and refuses it from any other plain-http origin, so a
token never travels in the clear to a remote registry (the login page says so).

Forms that change state (login, logout, moving an alias) are checked against cross-site
requests by origin (the ``Sec-Fetch-Site`` and ``Origin`` headers every current browser
sends). A form that acts with the session's rights (moving an alias) also carries a
per-session token, an HMAC of the session cookie (:func:`form_token`): another site can
neither read the cookie nor compute the token, and no secret is shared between replicas.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response

from registry.auth import Principal
from registry.auth.deps import principal_for
from registry.errors import Denied
from registry.services import services_of

__all__ = [
    "COOKIE",
    "LOOPBACK_HOSTS",
    "check_form_token",
    "check_same_origin",
    "clear_session",
    "form_token",
    "is_secure_transport",
    "provide_viewer",
    "safe_next",
    "start_session",
]

COOKIE = "custody_session"
COOKIE_PATH = "/ui"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _host(request: Request[Any, Any, Any]) -> str:
    return (request.url.hostname or "").lower()


def is_secure_transport(request: Request[Any, Any, Any]) -> bool:
    """Whether a token may travel here: https, or plain http to this machine."""
    return request.url.scheme == "https" or _host(request) in LOOPBACK_HOSTS


def _secure_flag(request: Request[Any, Any, Any]) -> bool:
    return not (request.url.scheme == "http" and _host(request) in LOOPBACK_HOSTS)


def start_session(request: Request[Any, Any, Any], response: Response[Any], token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure_flag(request),
        samesite="strict",
    )


def clear_session(request: Request[Any, Any, Any], response: Response[Any]) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH)


async def provide_viewer(request: Request[Any, Any, Any]) -> Principal:
    """The caller of a page: the session cookie's token, else anonymous.

    A token that is unknown, expired or revoked raises ``Unauthorized``, which the pages
    answer with the login page (and the stale cookie dropped).
    """
    token = request.cookies.get(COOKIE)
    if not token:
        return Principal.anonymous()
    return await principal_for(services_of(request.app), f"Bearer {token}")


def check_same_origin(request: Request[Any, Any, Any]) -> None:
    """Refuse a form post another site's page made (403)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site in {"same-origin", "none"}:
            return
        raise Denied("this form only accepts posts from the registry's own pages")
    origin = request.headers.get("origin")
    if origin is None:
        return  # not a browser (browsers send Origin on every POST)
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin.lower() != own.lower():
        raise Denied("this form only accepts posts from the registry's own pages")


def safe_next(target: str | None) -> str:
    """Where to go after login: a page of this registry's ``/ui``, never another site."""
    if not target:
        return "/ui"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/ui"
    if not (parts.path == "/ui" or parts.path.startswith("/ui/")) or "//" in parts.path:
        return "/ui"
    return target


_FORM_LABEL = b"custody /ui form token v1"


def form_token(request: Request[Any, Any, Any]) -> str:
    """The token a state-changing form of this session carries ("" without a session)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return ""
    return hmac.new(cookie.encode(), _FORM_LABEL, hashlib.sha256).hexdigest()


def check_form_token(request: Request[Any, Any, Any], sent: str) -> None:
    """Refuse a state-changing post without this session's form token (403)."""
    check_same_origin(request)
    expected = form_token(request)
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise Denied("this form is stale or was not sent by the registry's own pages; reload it")
