"""Errors of the provenance formats (latent records, output manifests, C2PA signing)."""

from __future__ import annotations

from signing.errors import FormatError, SigningError

__all__ = ["C2paSigningError", "ProvenanceFormatError"]


class ProvenanceFormatError(FormatError):
    """A latent record, output manifest or its DSSE envelope is malformed, or an input to one is."""


class C2paSigningError(SigningError):
    """c2pa-python could not embed Content Credentials (unsupported format, bad key or chain)."""
