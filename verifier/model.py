"""Verify a model against its OMS signature(s): the public entry points.

:func:`verify_model` checks one bundle against one trusted signer;
:func:`verify_model_with_policy` checks any number of bundles against a policy
(for example the one a trust policy file gives a namespace). Both return a
:class:`VerifiedModel` only when every check holds - signature, signer
identity, every file's digest and the exact file set - and raise a
:class:`~verifier.errors.VerificationError` naming the failed check otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from signing.errors import FormatError
from signing.hashing import HashOptions
from signing.manifest import Manifest
from signing.oms import MAX_BUNDLE_SIZE, Bundle
from signing.sign import relative_ignore_path
from verifier.errors import BundleInvalid, MaterialUnreadable, UnsafeModelPath
from verifier.signature_policies import Evidence, LoadedBundle, Policy, VerifiedSignature
from verifier.trust import SignerIdentity, TrustedSigner

__all__ = ["VerifiedModel", "load_bundle", "verify_model", "verify_model_with_policy"]


@dataclass(frozen=True, slots=True)
class VerifiedModel:
    """A model that passed verification.

    ``manifest`` is the verified manifest (``None`` only when an audit-level
    policy let an unverified model through; ``findings`` then says why).
    """

    manifest: Manifest | None
    signatures: tuple[VerifiedSignature, ...]
    findings: tuple[str, ...] = ()

    @property
    def signers(self) -> tuple[SignerIdentity, ...]:
        """Who signed, one entry per accepted signature."""
        return tuple(s.identity for s in self.signatures)


def load_bundle(source: str | os.PathLike[str] | bytes, *, label: str = "") -> LoadedBundle:
    """Read and parse a bundle file (or bytes).

    Raises :class:`BundleInvalid` or :class:`MaterialUnreadable`.
    """
    if isinstance(source, bytes):
        data, name = source, label or "<bundle>"
    else:
        path = Path(source)
        name = label or str(path)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_BUNDLE_SIZE + 1)
        except OSError as exc:
            raise MaterialUnreadable(f"cannot read signature {name!r}: {exc.strerror}") from exc
    try:
        return LoadedBundle(name, Bundle.parse(data))
    except FormatError as exc:
        raise BundleInvalid(f"{name}: {exc}") from exc


def _ignored(
    model_path: Path, ignore: Sequence[str | os.PathLike[str]], signatures: Sequence[object]
) -> list[str]:
    names: list[str] = []
    for item in ignore:
        name = relative_ignore_path(model_path, item)
        if name is None:
            raise UnsafeModelPath(f"ignore path {os.fspath(item)!r} is not inside the model")
        names.append(name)
    if model_path.is_dir():
        for signature in signatures:
            if isinstance(signature, str | os.PathLike):
                inside = relative_ignore_path(model_path, Path(signature).resolve())
                if inside is not None:
                    names.append(inside)
    return names


def verify_model(
    model_path: str | os.PathLike[str],
    signature: str | os.PathLike[str] | bytes,
    trusted: TrustedSigner,
    *,
    ignore: Sequence[str | os.PathLike[str]] = (),
    ignore_unsigned_files: bool = False,
    options: HashOptions | None = None,
) -> VerifiedModel:
    """Verify ``model_path`` against one bundle signed by ``trusted``.

    ``ignore`` names paths (relative to the model) the verifier leaves out; the
    signature file is left out automatically when it lies inside the model.
    Unsigned files make verification fail unless ``ignore_unsigned_files``.
    """
    root = Path(model_path)
    loaded = load_bundle(signature)
    evidence = Evidence(
        root,
        [loaded],
        ignore=_ignored(root, ignore, [signature]),
        ignore_unsigned_files=ignore_unsigned_files,
        options=options,
    )
    authenticated = evidence.authenticate(0, trusted)
    evidence.check_integrity(authenticated.manifest)
    verified = VerifiedSignature(loaded.source, authenticated.identity, authenticated.manifest)
    return VerifiedModel(authenticated.manifest, (verified,))


def verify_model_with_policy(
    model_path: str | os.PathLike[str],
    signatures: Sequence[str | os.PathLike[str] | bytes],
    policy: Policy,
    *,
    ignore: Sequence[str | os.PathLike[str]] = (),
    ignore_unsigned_files: bool = False,
    options: HashOptions | None = None,
) -> VerifiedModel:
    """Verify ``model_path`` against several bundles and a policy over them."""
    root = Path(model_path)
    loaded = [load_bundle(s) for s in signatures]
    evidence = Evidence(
        root,
        loaded,
        ignore=_ignored(root, ignore, list(signatures)),
        ignore_unsigned_files=ignore_unsigned_files,
        options=options,
    )
    policy.verify(evidence)
    manifest = evidence.accepted[0].manifest if evidence.accepted else None
    return VerifiedModel(manifest, tuple(evidence.accepted), tuple(evidence.findings))
