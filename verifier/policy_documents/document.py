"""One policy file being read: its text, its line numbers and the files it names.

Every language reads its file with :func:`read_policy_file`, decodes it with
:func:`load_policy_document` and builds its policy objects from the models,
raising through :meth:`PolicyDocument.fail` so each error names the file and
line. A language with its own error class (the reprint policy) passes it as
``error`` (see :class:`~verifier.policy_documents.yaml_reader.DocumentError`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from signing.errors import KeyLoadError
from signing.keys import PublicKey, load_public_key
from verifier.errors import PolicyFileInvalid
from verifier.policy_documents.specs import KeySpec
from verifier.policy_documents.yaml_reader import DocumentError, Lines, decode_policy_yaml

__all__ = ["PolicyDocument", "load_policy_document", "read_policy_file"]

SpecT = TypeVar("SpecT", bound=msgspec.Struct)


def read_policy_file(
    path: str | os.PathLike[str],
    *,
    what: str = "the policy file",
    error: DocumentError = PolicyFileInvalid,
) -> tuple[str, bytes]:
    """The file's text and its bytes (for a digest); raises ``error`` naming the file."""
    policy_path = Path(path)
    try:
        data = policy_path.read_bytes()
        return data.decode("utf-8"), data
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what}: {exc}", source=str(policy_path)) from exc


class PolicyDocument:
    """A decoded policy file: line numbers for errors, a base for the paths it names."""

    def __init__(
        self,
        lines: Lines,
        *,
        source: str = "",
        base_dir: Path | None = None,
        error: DocumentError = PolicyFileInvalid,
    ) -> None:
        self.lines = lines
        self.source = source
        self.base = base_dir or Path()
        self.error = error

    def line(self, path: Sequence[str | int], key: str | None = None) -> int:
        """The line of ``key`` in the mapping at ``path`` (or of the node at ``path``)."""
        return self.lines.line(path, key)

    def fail(self, message: str, line: int | None) -> Exception:
        """The error to raise for ``message`` at ``line`` of this file."""
        return self.error(message, source=self.source, line=line)

    def read(self, name: str, what: str, line: int) -> bytes:
        """A file the policy names, relative to the policy file unless absolute."""
        path = Path(name) if Path(name).is_absolute() else self.base / name
        try:
            return path.read_bytes()
        except OSError as exc:
            raise self.fail(f"cannot read {what} {str(path)!r}: {exc.strerror}", line) from exc

    def public_key(self, spec: KeySpec, path: Sequence[str | int], *, label: str) -> PublicKey:
        """The key ``spec`` gives (``spec.key_field`` must be set); errors start with ``label``."""
        field = spec.key_field or "public_key"
        line = self.line(path, field)
        data = (
            self.read(spec.public_key, "public key", line)
            if spec.public_key is not None
            else str(spec.public_key_pem).encode()
        )
        try:
            return load_public_key(data)
        except KeyLoadError as exc:
            raise self.fail(f"{label}: {exc}", line) from exc


def load_policy_document(
    text: str,
    spec: type[SpecT],
    *,
    source: str = "",
    base_dir: Path | None = None,
    models: Sequence[type[msgspec.Struct]] = (),
    error: DocumentError = PolicyFileInvalid,
) -> tuple[SpecT, PolicyDocument]:
    """Decode ``text`` into ``spec`` (``models``: its nested models, for error hints)."""
    decoded, lines = decode_policy_yaml(text, spec, source=source, models=models, error=error)
    return decoded, PolicyDocument(lines, source=source, base_dir=base_dir, error=error)
