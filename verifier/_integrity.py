"""Integrity: does the model on disk match a signed manifest, byte for byte and file for file?

The model is hashed with the parameters the signature records (method, hash,
shard size, symlink rule, ignored paths) plus the verifier's own ignored paths.
The file set must match exactly unless ``ignore_unsigned_files`` is set, in
which case only the signed names are hashed - and those names are still
checked and confined to the model directory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from signing.errors import HashingError, ModelPathError, UnsafePathError
from signing.hashing import HashOptions, hash_model
from signing.manifest import SINGLE_FILE_NAME, Manifest
from verifier.errors import IntegrityError, MaterialUnreadable, UnsafeModelPath

__all__ = ["check_integrity"]


def check_integrity(
    model_path: str | os.PathLike[str],
    expected: Manifest,
    *,
    ignore: Sequence[str] = (),
    ignore_unsigned_files: bool = False,
    options: HashOptions | None = None,
) -> Manifest:
    """Hash ``model_path`` as ``expected`` says and compare; return the model's manifest.

    ``ignore`` holds model-relative names the verifier leaves out (its own
    choice, added to the signed ones). Raises :class:`IntegrityError` (with the
    diff), :class:`UnsafeModelPath` or :class:`MaterialUnreadable`.
    """
    root = Path(model_path)
    if not expected.resources:
        raise IntegrityError("the signature covers no files")
    if not os.path.lexists(root):
        raise MaterialUnreadable(f"model path {str(root)!r} does not exist")
    signed_single = expected.file_names() == (SINGLE_FILE_NAME,)
    if root.is_file() and not signed_single:
        raise IntegrityError(
            f"{str(root)!r} is a single file but the signature covers a directory "
            f"({len(expected.file_names())} files)"
        )
    if root.is_dir() and signed_single:
        raise IntegrityError(f"{str(root)!r} is a directory but the signature covers a single file")
    serialization = expected.serialization.with_ignored(ignore)
    only = set(expected.file_names()) if ignore_unsigned_files else None
    try:
        actual = hash_model(root, serialization, only=only, options=options)
    except UnsafePathError as exc:
        raise UnsafeModelPath(exc.diagnostics()) from exc
    except ModelPathError as exc:
        raise UnsafeModelPath(exc.diagnostics()) from exc
    except HashingError as exc:
        raise MaterialUnreadable(exc.diagnostics()) from exc
    diff = expected.diff(actual)
    if diff:
        raise IntegrityError(f"the model differs from the signature: {diff.summary()}", diff)
    return actual
