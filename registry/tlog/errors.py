"""Errors of the transparency log, mapped to problem details by registry.http.problems."""

from __future__ import annotations

from registry.errors import BadRequest, ConfigurationError, NotFound, PayloadTooLarge, RegistryError


class LogRequestInvalid(BadRequest):
    """A log request names sizes, indexes or ranges the log cannot answer."""

    code = "LOG_REQUEST_INVALID"
    title = "Invalid transparency log request"


class TreeSizeOutOfRange(LogRequestInvalid):
    code = "TREE_SIZE_INVALID"
    title = "Tree size out of range"


class LeafIndexOutOfRange(LogRequestInvalid):
    code = "LOG_INDEX_INVALID"
    title = "Log index out of range"


class EntryRangeInvalid(LogRequestInvalid):
    code = "LOG_RANGE_INVALID"
    title = "Invalid entry range"


class LeafHashUnknown(NotFound):
    code = "LEAF_UNKNOWN"
    title = "Leaf hash not in the log"


class EntryInvalid(LogRequestInvalid):
    code = "LOG_ENTRY_INVALID"
    title = "Invalid log entry"


class EntryTooLarge(PayloadTooLarge):
    code = "LOG_ENTRY_TOO_LARGE"
    title = "Log entry too large"


class LogUnavailable(RegistryError):
    """The log is shut down or could not commit; nothing was appended for this caller."""

    status_code = 503
    code = "LOG_UNAVAILABLE"
    title = "Transparency log unavailable"


class LogCorrupted(RegistryError):
    """The stored tree disagrees with the last signed checkpoint: appends stop (fail closed)."""

    status_code = 500
    code = "LOG_CORRUPTED"
    title = "Transparency log corrupted"


class LogKeyInvalid(ConfigurationError):
    """The log's key file is unreadable, malformed, or names another log."""

    title = "Invalid transparency log key"
