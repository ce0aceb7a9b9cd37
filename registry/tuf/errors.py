"""Errors of the TUF repository, each naming the check that failed."""

from __future__ import annotations

from registry.errors import BadRequest, Conflict, NotFound, RegistryError


class TufError(RegistryError):
    """Root of the TUF repository's errors."""

    title = "TUF repository error"


class TufNotInitialised(TufError, NotFound):
    title = "TUF repository not initialised"


class TufAlreadyInitialised(TufError, Conflict):
    title = "TUF repository already initialised"


class MetadataUnknown(TufError, NotFound):
    title = "TUF metadata not known"


class RoleUnknown(TufError, BadRequest):
    """A namespace that has no delegated role (or a name that cannot be one)."""

    title = "Unknown TUF role"


class ThresholdInvalid(TufError, BadRequest):
    title = "Invalid key threshold"


class KeyInvalid(TufError, BadRequest):
    """A key file that cannot be read, or is not a supported private key."""

    title = "Invalid key"


class SigningKeysMissing(TufError):
    """The key store holds fewer private keys for a role than its threshold: nothing is signed."""

    status_code = 503
    title = "Signing keys missing"


class KeyFileInsecure(TufError):
    """A private key file readable by group or others is refused, never used."""

    status_code = 503
    title = "Insecure key file"
