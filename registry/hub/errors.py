"""Errors of the reprint hub: each names the check that failed (``check`` in the problem body).

Two families, kept apart as in the rest of the registry: the submission is bad or
untrusted (4xx, the client can fix it or must not be served), and the hub is not
configured to do what was asked (503, an operator must fix it).
"""

from __future__ import annotations

from typing import Any, ClassVar

from registry.errors import RegistryError


class HubError(RegistryError):
    """Root of the hub's errors; ``check`` names what failed."""

    check: ClassVar[str] = "hub"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail, extra={"check": self.check, **(extra or {})})


class HubUnavailable(HubError):
    """The hub is switched off or a service it needs is missing (operator's problem)."""

    status_code = 503
    code = "UNAVAILABLE"
    title = "Reprint hub unavailable"
    check = "configuration"


class MalformedSubmission(HubError):
    """The request is not a well-formed submission (wrong media type, parts, JSON, envelope)."""

    status_code = 400
    code = "UNSUPPORTED"
    title = "Malformed submission"
    check = "format"


class UnsupportedMediaType(MalformedSubmission):
    status_code = 415
    title = "Unsupported media type"


class ImageTooLarge(HubError):
    status_code = 413
    code = "SIZE_INVALID"
    title = "Image too large"
    check = "size"


class Rejected(HubError):
    """The submission is well formed but a trust check failed; ``check`` says which."""

    status_code = 422
    code = "DENIED"
    title = "Submission rejected"

    def __init__(self, check: str, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        self.failed_check = check
        super().__init__(detail, extra=extra)
        self.extra["check"] = check


class DuplicateRegistration(HubError):
    """The image is already registered with a different claim (an identical one is idempotent)."""

    status_code = 409
    code = "DENIED"
    title = "Image already registered"
    check = "duplicate"


class NotRegistered(HubError):
    status_code = 404
    code = "NAME_UNKNOWN"
    title = "Image not registered"
    check = "registration"


class ReprintRefused(HubError):
    """The original's reprint terms forbid this reprint; ``term`` names the one that does."""

    status_code = 403
    code = "DENIED"
    title = "Reprint refused by its terms"
    check = "terms"
