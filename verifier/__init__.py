"""Everything that decides "may I trust this": policies, the edge agent, proofs.

``verifier`` imports ``signing`` and never ``registry``, Litestar or SQLAlchemy,
so an edge device can install it without the service.

Example::

    >>> from verifier import VerificationError
    >>> issubclass(VerificationError, Exception)
    True
"""

from verifier.errors import VerificationError

__all__ = ["VerificationError"]
