"""The errors of the ``signing`` package.

:class:`SigningError` is the root. Its children say what went wrong in terms a
release engineer can act on: the model tree is unusable (:class:`ModelPathError`),
a name would escape the model (:class:`UnsafePathError`), a file changed while
it was read (:class:`HashingError`), a key or certificate cannot be used
(:class:`KeyLoadError`, :class:`CertificateMismatch`), or signed data is not in
the format it claims (:class:`FormatError`).
"""

from __future__ import annotations


class SigningError(Exception):
    """Root of every error raised by ``signing``."""

    def diagnostics(self) -> str:
        """A human-readable explanation, for a CLI line or a log."""
        return str(self)


class ModelPathError(SigningError):
    """The model path is missing, or holds something that cannot be hashed.

    Special files (FIFOs, sockets, devices), symbolic links when they are not
    allowed, and symbolic links to directories all raise this.
    """


class UnsafePathError(SigningError):
    """A resource name is absolute, escapes the model directory, or is not normalised.

    Raised when hashing (a symbolic link pointing out of the tree) and when
    reading a manifest (a signed name such as ``../secret.txt``).
    """

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"unsafe resource name {name!r}: {reason}")
        self.name = name
        self.reason = reason


class IgnorePathError(SigningError):
    """A path to leave out names nothing inside the model, or names two different things."""


class HashingError(SigningError):
    """A file could not be read completely, or changed while it was hashed."""


class KeyLoadError(SigningError):
    """A key cannot be loaded: unreadable, wrong passphrase, unsupported type."""


class UnsupportedKeyReference(KeyLoadError):
    """A key reference names a backend (scheme) that is not available."""


class CertificateMismatch(SigningError):
    """A certificate chain does not belong to the signing key, or cannot be parsed."""


class FormatError(SigningError):
    """Signed data (bundle, DSSE envelope, in-toto statement) is malformed."""


class BundleFormatError(FormatError):
    """The file is not a well-formed Sigstore bundle holding a DSSE envelope."""


class StatementFormatError(FormatError):
    """The DSSE payload is not a well-formed OMS in-toto statement."""


class DigestError(SigningError):
    """A content digest is not ``sha256:<64 lowercase hex>``."""
