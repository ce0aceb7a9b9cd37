"""Formats and cryptography for Custody: digests, keys, signatures, ML-BOMs.

``signing`` has no web framework, no database and no onnxruntime; it imports
neither ``verifier`` nor ``registry``.

Example::

    >>> from signing import SigningError
    >>> issubclass(SigningError, Exception)
    True
"""

from signing.errors import SigningError

__all__ = ["SigningError"]
