"""Errors of the verified loaders (:mod:`verifier.loading`).

All derive from :class:`verifier.errors.VerificationError` through :class:`LoadError`;
each names its ``check`` and its exit status (``exit_code``) in
:class:`signing.exit_codes.ExitCode`: ``load-integrity`` (the bytes read differ from
the verified digest, or a file has no path or digest), ``external-data`` (an ONNX
external-data location refused), ``session-config`` (a provider or session setting
refused) and ``model-format`` (a malformed ONNX model or safetensors header).
"""

from __future__ import annotations

from signing.exit_codes import ExitCode
from verifier.errors import VerificationError

__all__ = [
    "DigestMismatch",
    "LeaseBroken",
    "LoadError",
    "MalformedModel",
    "MissingLoadInput",
    "ProviderNotAllowed",
    "SessionConfigRefused",
    "UnsafeExternalData",
]


class LoadError(VerificationError):
    """Root of the loaders' errors: the model was not loaded, nothing reached the runtime."""

    check = "load"
    exit_code = ExitCode.LOAD_INTEGRITY


class DigestMismatch(LoadError):
    """The bytes read for a file differ from its verified digest."""

    check = "load-integrity"

    def __init__(self, name: str, expected: str, actual: str) -> None:
        super().__init__(f"{name}: digest {actual} differs from the verified {expected}")
        self.name = name
        self.expected = expected
        self.actual = actual


class LeaseBroken(LoadError):
    """A file read in place was opened for writing while it was being loaded: result discarded."""

    check = "load-integrity"


class MissingLoadInput(LoadError):
    """A file the load needs has no path or no verified digest, or a digest is unusable."""

    check = "load-integrity"


class UnsafeExternalData(LoadError):
    """An external-data reference of the ONNX model is refused."""

    check = "external-data"
    exit_code = ExitCode.EXTERNAL_DATA


class SessionConfigRefused(LoadError):
    """A session setting the loader does not allow (it owns the session options)."""

    check = "session-config"
    exit_code = ExitCode.SESSION_CONFIG


class ProviderNotAllowed(SessionConfigRefused):
    """An execution provider outside the allow-list, or not available here."""


class MalformedModel(LoadError):
    """The model or tensor file is not well formed (duplicate names, lying offsets, ...)."""

    check = "model-format"
    exit_code = ExitCode.MODEL_FORMAT
