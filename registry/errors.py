"""The registry's errors: one root, each error knowing its HTTP status and OCI code.

Handlers raise these; :mod:`registry.http.problems` is the one place that turns
them into responses (OCI error bodies under ``/v2/``, RFC 9457 problem details
elsewhere).
"""

from __future__ import annotations

from typing import Any, ClassVar


class RegistryError(Exception):
    """Root of every error raised by ``registry``."""

    status_code: ClassVar[int] = 500
    #: OCI Distribution error code, used for ``/v2/`` responses.
    code: ClassVar[str] = "UNKNOWN"
    title: ClassVar[str] = "Registry error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        self.headers: dict[str, str] = {}

    def diagnostics(self) -> str:
        """One human line: what failed and why."""
        return f"{self.title}: {self.detail}"


class ConfigurationError(RegistryError):
    """The registry's settings are invalid; raised at start-up, never per request."""

    title = "Invalid configuration"


class BadRequest(RegistryError):
    status_code = 400
    code = "UNSUPPORTED"
    title = "Bad request"


class NameInvalid(BadRequest):
    code = "NAME_INVALID"
    title = "Invalid repository name"


class DigestInvalid(BadRequest):
    code = "DIGEST_INVALID"
    title = "Invalid digest"


class TagInvalid(BadRequest):
    code = "TAG_INVALID"
    title = "Invalid tag"


class ManifestInvalid(BadRequest):
    code = "MANIFEST_INVALID"
    title = "Invalid manifest"


class ManifestBlobUnknown(BadRequest):
    code = "MANIFEST_BLOB_UNKNOWN"
    title = "Manifest references an unknown blob"


class BlobUploadInvalid(BadRequest):
    code = "BLOB_UPLOAD_INVALID"
    title = "Invalid blob upload"


class Unsupported(BadRequest):
    code = "UNSUPPORTED"
    title = "Unsupported operation"


class InvalidInput(BadRequest):
    code = "UNSUPPORTED"
    title = "Invalid input"


class Unauthorized(RegistryError):
    status_code = 401
    code = "UNAUTHORIZED"
    title = "Authentication required"


class Denied(RegistryError):
    status_code = 403
    code = "DENIED"
    title = "Access denied"


class NotFound(RegistryError):
    status_code = 404
    code = "NAME_UNKNOWN"
    title = "Not found"


class NameUnknown(NotFound):
    code = "NAME_UNKNOWN"
    title = "Repository not known"


class BlobUnknown(NotFound):
    code = "BLOB_UNKNOWN"
    title = "Blob not known"


class BlobUploadUnknown(NotFound):
    code = "BLOB_UPLOAD_UNKNOWN"
    title = "Upload session not known"


class ManifestUnknown(NotFound):
    code = "MANIFEST_UNKNOWN"
    title = "Manifest not known"


class TooManyRequests(RegistryError):
    """A rate limit or budget is spent (registry.limits); ``Retry-After`` says when to retry."""

    status_code = 429
    code = "TOOMANYREQUESTS"
    title = "Too many requests"

    def __init__(
        self, detail: str, *, retry_after: int, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail, extra={**(extra or {}), "retry_after": retry_after})
        self.headers["Retry-After"] = str(retry_after)


class LimitStoreUnavailable(RegistryError):
    """The rate-limit store (Redis) did not answer: refused rather than let through unlimited."""

    status_code = 503
    code = "UNAVAILABLE"
    title = "Rate-limit store unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = "1"


class RangeInvalid(RegistryError):
    """A chunk that does not start where the upload stands (OCI: 416)."""

    status_code = 416
    code = "BLOB_UPLOAD_INVALID"
    title = "Chunk out of order"


class Conflict(RegistryError):
    status_code = 409
    code = "DENIED"
    title = "Conflict"


class Immutable(Conflict):
    """Versions are immutable: never moved, never deleted."""

    title = "Version is immutable"


class QuotaExceeded(RegistryError):
    """Storing this would take a namespace past its storage quota; nothing was stored.

    ``DENIED``, as Harbor answers a push over a project quota, so every OCI client shows
    the message and none retries it. 409 rather than Harbor's 403, for the reason the
    immutable versions are (ADR 0004): oras re-authenticates and retries a 403, and
    reports a failed re-authentication instead of the message. Not the 413 of a
    too-large body, nor the 507 of a full disk (clients retry a 5xx). ``extra`` names
    the namespace, its quota and its usage in bytes, and the bytes asked for.
    """

    status_code = 409
    code = "DENIED"
    title = "Storage quota exceeded"


class PayloadTooLarge(RegistryError):
    status_code = 413
    code = "SIZE_INVALID"
    title = "Payload too large"


class DatabaseBusy(RegistryError):
    """The database stayed locked by other writers (or chose this transaction to abort a
    deadlock): nothing of the request was stored, and retrying soon will likely work."""

    status_code = 503
    code = "UNAVAILABLE"
    title = "Database busy"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = "1"


class InsufficientStorage(RegistryError):
    """The disk (or the database) is full: nothing of the request was stored.

    An operator's problem, not the client's: a 507 the client may retry later.
    """

    status_code = 507
    code = "INSUFFICIENT_STORAGE"
    title = "Insufficient storage"


class ClientDisconnected(RegistryError):
    """The client went away mid-request; nothing was stored."""

    status_code = 400
    code = "BLOB_UPLOAD_INVALID"
    title = "Client disconnected"


class BlobCollected(RegistryError):
    """The garbage collector removed a blob's bytes while an upload of the same digest
    was finishing (the store had deduplicated the upload against them): upload it again.

    409: the request was sound, the registry's state changed under it; a client error
    status so that the expected outcome of a race is not logged as a server failure."""

    status_code = 409
    code = "BLOB_UPLOAD_INVALID"
    title = "Blob collected during upload"


class RefusalNotAudited(RegistryError):
    """A refusal whose audit event could not be written, even after retrying.

    Answered 503 (never 500, never a refusal without its evidence): the body still
    says what was refused and why, so the client knows, and may retry later.
    """

    status_code = 503
    code = "UNAVAILABLE"
    title = "Refusal could not be recorded"

    def __init__(self, refusal: Exception, *, action: str) -> None:
        reason = refusal.detail if isinstance(refusal, RegistryError) else str(refusal)
        extra = dict(refusal.extra) if isinstance(refusal, RegistryError) else {}
        status = refusal.status_code if isinstance(refusal, RegistryError) else None
        super().__init__(
            f"{reason} (refused, but the refusal's audit event could not be written: "
            "nothing was changed; retry later)",
            extra={**extra, "reason": reason, "refused_status": status, "audited": False},
        )
        self.refusal = refusal
        self.action = action
        self.headers["Retry-After"] = "1"
