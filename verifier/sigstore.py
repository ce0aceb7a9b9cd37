"""Sigstore trust roots, and verification of plain (non-OMS) Sigstore bundles, offline.

The public names of the private Sigstore adapter :mod:`verifier._sigstore`
(also exported by :mod:`verifier`): :func:`load_trusted_root` and
:func:`verify_sigstore_bundle`. Nothing here touches the network or the TUF cache.
"""

from verifier._sigstore import load_trusted_root, verify_sigstore_bundle

__all__ = ["load_trusted_root", "verify_sigstore_bundle"]
