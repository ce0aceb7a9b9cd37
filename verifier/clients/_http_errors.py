"""What a registry's error answer says, and what probably caused it.

One mechanism for every command that talks to a registry: the registry's own
message (an OCI error body under ``/v2/``, RFC 9457 problem details elsewhere)
is always shown, followed by the likely cause in words a user can act on. A
``HEAD`` answer has no body, so its message is read from the same request sent
as ``GET`` (see :meth:`verifier.clients.registry.RegistryClient._expect`).

Example::

    >>> explain(400, "NAME_INVALID", "PUT", "/v2/Acme/m/manifests/1", "name 'Acme/m' ...")
    "repository names are lower-case 'namespace/model' (e.g. acme/sd-turbo)"
"""

from __future__ import annotations

import re
from typing import Any

import httpx

__all__ = [
    "TokenInfo",
    "error_body",
    "error_text",
    "explain",
    "request_target",
    "token_challenge",
    "token_info",
]

_WRITES = {"PUT", "POST", "PATCH", "DELETE"}
_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')
#: The registry names the missing scope: "token 2fe6... does not grant promote on ...".
_GRANT_RE = re.compile(r"does not grant (pull|push|promote|admin)\b")


def token_challenge(challenge: str) -> bool:
    """A Bearer challenge naming a token endpoint URL (a bare realm name is not one)."""
    realm = dict(_CHALLENGE_RE.findall(challenge)).get("realm", "")
    return challenge.lower().startswith("bearer ") and realm.startswith(
        ("http://", "https://", "/")
    )


def error_body(http: httpx.Client, target: str, bearer: str | None) -> bytes:
    """A HEAD answer has no body: the same request as GET carries the registry's message."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    try:
        with http.stream("GET", target, headers=headers) as response:
            if response.status_code < 400:
                return b""
            return response.read()[:65536]
    except httpx.HTTPError:
        return b""


def error_text(status: int, reason: str, body: bytes) -> tuple[str, str | None]:
    """The registry's own message and error code from an error body, if it has them."""
    try:
        document: Any = httpx.Response(status, content=body).json()
    except (ValueError, UnicodeDecodeError):
        text = body[:200].decode("utf-8", "replace").strip()
        return text or reason, None
    if isinstance(document, dict):
        errors = document.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("message") or reason), str(first.get("code") or "") or None
        if "detail" in document:
            return str(document["detail"]), str(document.get("code") or "") or None
    return body[:200].decode("utf-8", "replace").strip() or reason, None


def request_target(method: str, path: str) -> tuple[str | None, str]:
    """(namespace, action) a request needs: ``/v2/acme/m/...`` or ``/api/v1/models/acme/...``."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    namespace: str | None = None
    if len(parts) >= 2 and parts[0] == "v2":
        namespace = parts[1]
    elif len(parts) >= 4 and parts[:3] == ["api", "v1", "models"]:
        namespace = parts[3]
    action = "push" if method.upper() in _WRITES else "pull"
    return namespace, action


class TokenInfo:
    """What the registry says the caller's token is (``GET /api/v1/tokens/self``)."""

    def __init__(self, namespace: str, scopes: list[str]) -> None:
        self.namespace = namespace
        self.scopes = scopes

    def describe(self) -> str:
        where = "every namespace" if self.namespace == "*" else f"namespace '{self.namespace}'"
        return f"token scopes: {','.join(self.scopes) or 'none'} on {where}"


def token_info(http: httpx.Client, token: str | None) -> TokenInfo | None:
    """What a Custody registry says ``token`` grants (``GET /api/v1/tokens/self``)."""
    if not token:
        return None
    try:
        response = http.get("/api/v1/tokens/self", headers={"Authorization": f"Bearer {token}"})
        document = response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("scopes"), list):
        return None
    return TokenInfo(str(document.get("namespace")), [str(s) for s in document["scopes"]])


def explain(
    status: int,
    code: str | None,
    method: str,
    path: str,
    message: str,
    *,
    has_token: bool = True,
    token: TokenInfo | None = None,
) -> str | None:
    """The likely cause of an error answer, or ``None`` when the message says it all."""
    namespace, action = request_target(method, path)
    if code == "NAME_INVALID" or (status == 400 and "repository name" in message):
        return "repository names are lower-case 'namespace/model' (e.g. acme/sd-turbo)"
    if status == 401:
        if not has_token:
            return "no token was given: pass --token or set $CUSTODY_TOKEN"
        return (
            "the token is not valid for this registry (unknown, expired or revoked): check --token"
        )
    if status == 403 and "site admin" in message:
        where = f" ({token.describe()})" if token is not None else ""
        return f"this needs a site admin token (namespace '*', admin){where}"
    if status == 403 and "does not grant" in message:
        named = _GRANT_RE.search(message)
        needed = named.group(1) if named else action
        target = f" on namespace '{namespace}'" if namespace else ""
        cause = f"the token does not grant {needed}{target}"
        return f"{cause} ({token.describe()})" if token is not None else cause
    if path.startswith("/v2/") and code == "NAME_UNKNOWN":
        return "no such model: 'custody ls' lists the models this token can see"
    if path.startswith("/v2/") and code == "MANIFEST_UNKNOWN":
        return "no such version or alias: 'custody ls REPO' lists them"
    return None
