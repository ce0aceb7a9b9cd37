"""Validation of namespace and repository names.

Repository names follow the OCI Distribution grammar, lower case only, and
must have at least two components: ``<namespace>/<model>``. The namespace is
the first component. Names never reach the filesystem (blobs are stored by
digest), but a name with ``..``, an absolute path or upper case is refused
anyway so that every layer sees the same canonical name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.errors import NameInvalid

MAX_REPOSITORY_NAME = 255
MAX_COMPONENT = 128
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_COMPONENT_RE = re.compile(rf"^{_COMPONENT}$")
_REPOSITORY_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})+$")


def validate_namespace(name: str) -> str:
    """Return ``name`` if it is a valid namespace, else raise :class:`NameInvalid`."""
    if not name:
        raise NameInvalid("namespace name is empty")
    if len(name) > MAX_COMPONENT:
        raise NameInvalid(f"namespace name is longer than {MAX_COMPONENT} characters")
    if not _COMPONENT_RE.match(name):
        raise NameInvalid(
            f"namespace {name!r} must be lower-case letters and digits, separated by . _ or -"
        )
    return name


@dataclass(frozen=True, slots=True)
class RepositoryName:
    """A validated ``<namespace>/<model>[/...]`` repository name."""

    full: str

    @classmethod
    def parse(cls, name: str) -> RepositoryName:
        if len(name) > MAX_REPOSITORY_NAME:
            raise NameInvalid(f"repository name is longer than {MAX_REPOSITORY_NAME} characters")
        if name.startswith("/"):
            raise NameInvalid("repository name must not be an absolute path")
        if any(part in {".", ".."} for part in name.split("/")):
            raise NameInvalid("repository name must not contain '.' or '..' components")
        if any(len(part) > MAX_COMPONENT for part in name.split("/")):
            raise NameInvalid(f"a repository name component is longer than {MAX_COMPONENT}")
        if not _REPOSITORY_RE.match(name):
            raise NameInvalid(
                f"repository name {name!r} must be <namespace>/<model> in lower case "
                "(letters, digits, and . _ - between them)"
            )
        return cls(name)

    @property
    def namespace(self) -> str:
        return self.full.split("/", 1)[0]

    def __str__(self) -> str:
        return self.full
