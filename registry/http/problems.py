"""The one mapping from errors to HTTP responses.

Under ``/v2/`` bodies follow the OCI Distribution error format
(``{"errors": [{"code", "message", "detail"}]}``); everywhere else they are
RFC 9457 problem details (``application/problem+json``) with an extra ``code``.
Anything unexpected is logged with its traceback and answered with a bare 500:
no traceback ever reaches a client.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError

from registry.errors import DatabaseBusy, InsufficientStorage, RegistryError

log = logging.getLogger("registry.errors")

PROBLEM_JSON = "application/problem+json"

# Litestar's own exceptions (routing, validation, limits) mapped to OCI codes.
_OCI_CODE_FOR_STATUS = {
    400: "UNSUPPORTED",
    401: "UNAUTHORIZED",
    403: "DENIED",
    404: "NAME_UNKNOWN",
    405: "UNSUPPORTED",
    413: "SIZE_INVALID",
    416: "BLOB_UPLOAD_INVALID",
    429: "TOOMANYREQUESTS",
}


def _is_oci(request: Request[Any, Any, Any]) -> bool:
    path = request.scope.get("path", "")
    return path == "/v2" or path.startswith("/v2/")


def _www_authenticate(request: Request[Any, Any, Any]) -> str:
    if _is_oci(request):
        realm = str(request.base_url).rstrip("/") + "/auth/token"
        return f'Bearer realm="{realm}",service="custody"'
    return 'Bearer realm="custody"'


def error_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    all_headers = dict(headers or {})
    if status == 401 and "WWW-Authenticate" not in all_headers:
        all_headers["WWW-Authenticate"] = _www_authenticate(request)
    if _is_oci(request):
        body: dict[str, Any] = {
            "errors": [{"code": code, "message": detail, "detail": extra or {}}]
        }
        return Response(body, status_code=status, headers=all_headers, media_type=MediaType.JSON)
    problem: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.scope.get("path", ""),
    }
    if extra:
        problem.update(extra)
    return Response(problem, status_code=status, headers=all_headers, media_type=PROBLEM_JSON)


def handle_registry_error(request: Request[Any, Any, Any], exc: RegistryError) -> Response[Any]:
    if exc.status_code >= 500:
        log.error("server-side failure: %s", exc.diagnostics(), exc_info=exc)
    return error_response(
        request,
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        extra=exc.extra,
        headers=exc.headers,
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log.error("server-side failure: %s", exc.detail, exc_info=exc)
        return _internal(request)
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    return error_response(
        request,
        status=status,
        code=_OCI_CODE_FOR_STATUS.get(status, "UNSUPPORTED"),
        title=_title(status),
        detail=str(exc.detail),
        extra=extra,
        headers=dict(exc.headers or {}),
    )


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _storage_full(exc):
        log.error("storage full on %s %s", request.method, request.url.path, exc_info=exc)
        return handle_registry_error(
            request,
            InsufficientStorage(
                "the registry is out of storage space: nothing was stored; "
                "retry once an operator has freed space"
            ),
        )
    if _database_busy(exc):
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        return handle_registry_error(
            request,
            DatabaseBusy(
                "the database was busy with other writers: nothing of this request was "
                "stored; retry it"
            ),
        )
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _internal(request)


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_PG_DISK_FULL = "53100"  # SQLSTATE disk_full


def _storage_full(exc: BaseException) -> bool:
    """A full disk anywhere below: a file write, SQLite's or PostgreSQL's own files."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        if isinstance(current, DBAPIError):
            original = current.orig
            if getattr(original, "sqlite_errorcode", None) == _SQLITE_FULL:
                return True
            if getattr(original, "sqlstate", None) == _PG_DISK_FULL:
                return True
        current = current.__cause__ or current.__context__
    return False


_SQLITE_BUSY_CODES = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (and extended codes)
#: serialization_failure, deadlock_detected, lock_not_available
_PG_RETRY_STATES = frozenset({"40001", "40P01", "55P03"})


def _database_busy(exc: BaseException) -> bool:
    """SQLite's lock wait ran out, or PostgreSQL aborted this transaction for another's."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            original = current.orig
            code = getattr(original, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _SQLITE_BUSY_CODES:
                return True
            if getattr(original, "sqlstate", None) in _PG_RETRY_STATES:
                return True
        current = current.__cause__ or current.__context__
    return False


def _internal(request: Request[Any, Any, Any]) -> Response[Any]:
    return error_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        code="UNKNOWN",
        title="Internal server error",
        detail="the registry failed to handle this request; the failure is logged",
    )


def _title(status: int) -> str:
    return {
        400: "Bad request",
        401: "Authentication required",
        403: "Access denied",
        404: "Not found",
        405: "Method not allowed",
        413: "Payload too large",
        415: "Unsupported media type",
        416: "Range not satisfiable",
        507: "Insufficient storage",
    }.get(status, "Request failed")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    RegistryError: handle_registry_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
