"""The models every policy language builds on: the base spec and the fields they share.

Each language declares its file as frozen ``msgspec`` models derived from
:class:`PolicySpec`, so an unknown field is an error everywhere. A signer that
is a key (a trust-policy signer, a reprint creator or node) derives from
:class:`KeySpec`; its key is loaded by
:meth:`~verifier.policy_documents.document.PolicyDocument.public_key`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["KeySpec", "NonEmpty", "PolicySpec", "PublicKeyPath", "PublicKeyPem"]

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]

PublicKeyPath = Annotated[
    str, msgspec.Meta(min_length=1, description="Path to a public key (PEM, or raw ML-DSA-65).")
]
PublicKeyPem = Annotated[
    str, msgspec.Meta(pattern="-----BEGIN PUBLIC KEY-----", description="Inline PEM public key.")
]


class PolicySpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base of every policy file's models: unknown fields are errors."""


class KeySpec(PolicySpec, frozen=True, kw_only=True):
    """A named signer that may be given by a key file or an inline PEM key.

    Subclasses add their other fields and check which combinations are allowed.
    """

    name: NonEmpty
    public_key: PublicKeyPath | None = None
    public_key_pem: PublicKeyPem | None = None

    @property
    def key_field(self) -> str | None:
        """The field the key is given in, or ``None`` when the signer is not a key."""
        if self.public_key is not None:
            return "public_key"
        return "public_key_pem" if self.public_key_pem is not None else None
