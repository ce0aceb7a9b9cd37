"""Validation of namespace and repository names.

Repository names follow the OCI Distribution grammar, lower case only, and
have exactly two components: ``<namespace>/<model>`` (a model is one OCI
repository, as on Hugging Face Hub). Tags follow the OCI tag grammar; a tag that
matches the version pattern (semantic versioning by default) is a *version*,
immutable once pushed; any other tag is an *alias*. Names never reach the
filesystem (blobs are stored by digest), but a name with ``..``, an absolute
path or upper case is refused anyway so that every layer sees the same
canonical name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.errors import NameInvalid, TagInvalid

MAX_REPOSITORY_NAME = 255
#: TUF's top-level role names: a namespace of that name could not be its own delegated role.
RESERVED_NAMESPACES = frozenset({"root", "targets", "snapshot", "timestamp"})
MAX_COMPONENT = 128
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_COMPONENT_RE = re.compile(rf"^{_COMPONENT}$")
_REPOSITORY_RE = re.compile(rf"^{_COMPONENT}/{_COMPONENT}$")
_TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}\Z")
#: Semantic Versioning 2.0 without build metadata ('+' is not allowed in OCI tags),
#: with an optional leading "v".
DEFAULT_VERSION_PATTERN = (
    r"^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)


def validate_namespace(name: str) -> str:
    """Return ``name`` if it is a valid namespace, else raise :class:`NameInvalid`."""
    if not name:
        raise NameInvalid("namespace name is empty")
    if len(name) > MAX_COMPONENT:
        raise NameInvalid(f"namespace name is longer than {MAX_COMPONENT} characters")
    if not _COMPONENT_RE.fullmatch(name):
        raise NameInvalid(
            f"namespace {name!r} must be lower-case letters and digits, separated by . _ or -"
        )
    if name in RESERVED_NAMESPACES:
        raise NameInvalid(
            f"namespace {name!r} is reserved: each namespace is a TUF role of that name, and "
            "TUF's top-level roles are root, targets, snapshot and timestamp"
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
        if not _REPOSITORY_RE.fullmatch(name):
            raise NameInvalid(
                f"repository name {name!r} must be <namespace>/<model> in lower case "
                "(letters, digits, and . _ - between them)"
            )
        validate_namespace(name.split("/", 1)[0])
        return cls(name)

    @property
    def namespace(self) -> str:
        return self.full.split("/", 1)[0]

    def __str__(self) -> str:
        return self.full


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid OCI tag, else raise :class:`TagInvalid`."""
    if not _TAG_RE.fullmatch(tag):
        raise TagInvalid(
            f"tag {tag!r} must match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}} (OCI tag grammar)"
        )
    return tag


class VersionPattern:
    """Decides which tags are versions."""

    def __init__(self, pattern: str = DEFAULT_VERSION_PATTERN) -> None:
        self._re = re.compile(pattern)

    def is_version(self, tag: str) -> bool:
        return self._re.match(tag) is not None
