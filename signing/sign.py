"""Sign a model: hash it, build the OMS statement, sign the DSSE envelope, write the bundle."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from signing.dsse import IN_TOTO_PAYLOAD_TYPE, Envelope, EnvelopeSignature, pae
from signing.errors import IgnorePathError, SigningError, UnsafePathError
from signing.hashing import HashOptions, hash_model
from signing.keys import verify_bytes
from signing.manifest import DEFAULT_IGNORED_PATHS, Manifest, Serialization
from signing.oms import Bundle, statement_payload
from signing.signers import Signer

__all__ = [
    "SignedModel",
    "relative_ignore_path",
    "resolve_ignore_path",
    "sign_manifest",
    "sign_model",
]


@dataclass(frozen=True, slots=True)
class SignedModel:
    """The result of signing: the bundle (also written to ``path`` if one was given)."""

    bundle: Bundle
    manifest: Manifest
    path: Path | None = None


def relative_ignore_path(model_path: Path, path: str | os.PathLike[str]) -> str | None:
    """``path`` as a model-relative name, or ``None`` when it lies outside the model.

    The library's reading (``sign_model``, ``verify_model``, ``generate_bom``):
    relative paths are taken relative to the model directory; absolute paths are
    accepted when they are inside it. Command lines read what a user typed with
    :func:`resolve_ignore_path` instead, then hand the library its names.
    """
    candidate = Path(path)
    root = model_path.resolve()
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        relative = Path(os.path.normpath(candidate)).relative_to(root)
    except ValueError:
        try:
            relative = candidate.resolve().relative_to(root)
        except ValueError:
            return None
    name = relative.as_posix()
    return None if name in ("", ".") else name


def _location(path: Path) -> Path:
    """Where ``path`` (absolute) is, its directories resolved but not a final link."""
    if path.name in ("", ".", ".."):
        return path.resolve()
    return path.parent.resolve() / path.name


def resolve_ignore_path(
    model_path: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
) -> str:
    """A path to leave out, as a user typed it, turned into a model-relative name.

    The one reading of ``--ignore`` shared by ``custody sign``, ``verify`` and ``sbom``.

    A relative path is read both ways users mean it: as the shell does (from
    ``cwd``, the current directory by default, as ``model_signing --ignore-paths``
    does) and from the model directory (as ``custody`` always did). An absolute
    path is read as is. Whatever is read must exist inside the model (a link is
    not followed); an ignore that leaves out nothing is refused, and so is a
    relative path whose two readings name two different things.
    """
    root = Path(model_path).resolve()
    given = Path(path)
    if not root.is_dir():
        raise IgnorePathError(
            f"cannot leave out {str(given)!r}: the model {root} is not a directory"
        )
    if given.is_absolute():
        readings = [given]
    else:
        base = Path(cwd).absolute() if cwd is not None else Path.cwd()
        readings = [base / given, root / given]
    names: list[str] = []
    for reading in readings:
        try:
            name = _location(reading).relative_to(root).as_posix()
        except ValueError:
            continue
        if name != "." and os.path.lexists(root / name) and name not in names:
            names.append(name)
    if not names:
        looked = " or ".join(str(r) for r in readings)
        raise IgnorePathError(
            f"the ignore path {str(given)!r} names nothing inside the model {root} "
            f"(looked for {looked})"
        )
    if len(names) > 1:
        raise IgnorePathError(
            f"the ignore path {str(given)!r} is ambiguous: from the current directory it is "
            f"{names[0]!r} in the model, from the model directory {names[1]!r}; "
            "give it as an absolute path"
        )
    return names[0]


def sign_manifest(manifest: Manifest, signer: Signer) -> Bundle:
    """Sign an already computed manifest."""
    payload = statement_payload(manifest)
    signature = signer.sign(pae(IN_TOTO_PAYLOAD_TYPE, payload))
    # A backend (HSM, KMS) that returns a bad signature must fail here, not at
    # the verifier's end.
    if not verify_bytes(signer.public_key, signature, pae(IN_TOTO_PAYLOAD_TYPE, payload)):
        raise SigningError("the signer produced a signature its own public key rejects")
    envelope = Envelope(payload, IN_TOTO_PAYLOAD_TYPE, (EnvelopeSignature(signature, ""),))
    return Bundle.create(envelope, signer.verification_material())


def sign_model(
    model_path: str | os.PathLike[str],
    signer: Signer,
    *,
    serialization: Serialization | None = None,
    ignore: Iterable[str | os.PathLike[str]] = (),
    ignore_git_paths: bool = True,
    output: str | os.PathLike[str] | None = None,
    options: HashOptions | None = None,
) -> SignedModel:
    """Hash ``model_path``, sign it with ``signer`` and (if ``output``) write the bundle.

    ``ignore`` paths are relative to the model directory (absolute ones must
    lie inside it). The bundle file itself is ignored when it is written inside
    the model. All ignored paths are recorded in the signature.

    Raises :class:`~signing.errors.SigningError` subclasses.
    """
    root = Path(model_path)
    base = serialization or Serialization()
    extra: list[str] = []
    for item in ignore:
        name = relative_ignore_path(root, item)
        if name is None:
            raise UnsafePathError(os.fspath(item), "ignore path is not inside the model")
        extra.append(name)
    if ignore_git_paths:
        extra.extend(DEFAULT_IGNORED_PATHS)
    if output is not None and root.is_dir():
        inside = relative_ignore_path(root, Path(output).resolve())
        if inside is not None:
            extra.append(inside)
    manifest = hash_model(root, base.with_ignored(extra), options=options)
    bundle = sign_manifest(manifest, signer)
    written = None
    if output is not None:
        written = Path(output)
        _write_atomically(written, bundle.to_bytes())
    return SignedModel(bundle, manifest, written)


def _write_atomically(path: Path, data: bytes) -> None:
    directory = path.parent if str(path.parent) else Path()
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).chmod(0o644)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
