"""Errors of the verified loaders (:mod:`verifier.loading`).

All derive from :class:`verifier.errors.VerificationError` through :class:`LoadError`;
each names its ``check`` and the command line's ``exit_code``:

=====  ==============  ======================================================
exit   check           meaning
=====  ==============  ======================================================
11     load-integrity  the bytes read differ from the verified digest, or a
                       file needed for the load has no path or no digest
12     external-data   an ONNX external-data location is absolute, has ``..``,
                       is not a signed file, or lies outside that file
13     session-config  an execution provider outside the allow-list, or a
                       session setting the loader refuses
14     model-format    the ONNX model or safetensors header is malformed
                       (duplicate tensor names, offsets that lie)
=====  ==============  ======================================================
"""

from __future__ import annotations

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
    exit_code = 11


class DigestMismatch(LoadError):
    """The bytes read for a file differ from its verified digest."""

    check = "load-integrity"
    exit_code = 11

    def __init__(self, name: str, expected: str, actual: str) -> None:
        super().__init__(f"{name}: digest {actual} differs from the verified {expected}")
        self.name = name
        self.expected = expected
        self.actual = actual


class LeaseBroken(LoadError):
    """A file read in place was opened for writing while it was being loaded: result discarded."""

    check = "load-integrity"
    exit_code = 11


class MissingLoadInput(LoadError):
    """A file the load needs has no path or no verified digest, or a digest is unusable."""

    check = "load-integrity"
    exit_code = 11


class UnsafeExternalData(LoadError):
    """An external-data reference of the ONNX model is refused."""

    check = "external-data"
    exit_code = 12


class SessionConfigRefused(LoadError):
    """A session setting the loader does not allow (it owns the session options)."""

    check = "session-config"
    exit_code = 13


class ProviderNotAllowed(SessionConfigRefused):
    """An execution provider outside the allow-list, or not available here."""


class MalformedModel(LoadError):
    """The model or tensor file is not well formed (duplicate names, lying offsets, ...)."""

    check = "model-format"
    exit_code = 14
