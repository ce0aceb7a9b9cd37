"""Errors of the TUF repository, each naming the check that failed.

Each class has one base, the repository's root error, and says its own HTTP status and
OCI code: nothing catches them as the registry's generic NotFound or Conflict.
"""

from __future__ import annotations

from registry.errors import RegistryError


class TufError(RegistryError):
    """Root of the TUF repository's errors."""

    title = "TUF repository error"


class TufNotInitialised(TufError):
    status_code = 404
    code = "NAME_UNKNOWN"
    title = "TUF repository not initialised"


class TufAlreadyInitialised(TufError):
    status_code = 409
    code = "DENIED"
    title = "TUF repository already initialised"


class MetadataUnknown(TufError):
    status_code = 404
    code = "NAME_UNKNOWN"
    title = "TUF metadata not known"


class RoleUnknown(TufError):
    """A namespace that has no delegated role (or a name that cannot be one)."""

    status_code = 400
    code = "UNSUPPORTED"
    title = "Unknown TUF role"


class ThresholdInvalid(TufError):
    status_code = 400
    code = "UNSUPPORTED"
    title = "Invalid key threshold"


class KeyInvalid(TufError):
    """A key file that cannot be read, or is not a supported private key."""

    status_code = 400
    code = "UNSUPPORTED"
    title = "Invalid key"


class SigningKeysMissing(TufError):
    """The key store holds fewer private keys for a role than its threshold: nothing is signed."""

    status_code = 503
    title = "Signing keys missing"


class KeyFileInsecure(TufError):
    """A private key file readable by group or others is refused, never used."""

    status_code = 503
    title = "Insecure key file"
