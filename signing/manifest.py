"""Manifests: the ordered (name, algorithm, digest) records of a model.

A :class:`Manifest` is what gets signed and what verification recomputes. It
records its own hashing parameters (:class:`Serialization`) so a verifier can
hash the model the same way, and two manifests compare equal when they name the
same resources with the same digests (the model name is informative only).
:meth:`Manifest.diff` explains a mismatch as extra / missing / changed names.

Resource names follow OpenSSF Model Signing (OMS) v1:

* ``files``: the path of the file relative to the model root, POSIX separators
  (``"."`` when the model is a single file);
* ``shards``: ``"<path>:<start>:<end>"`` with ``start`` inclusive and ``end``
  exclusive byte offsets.

Names are checked by :func:`check_name`: never absolute, never ``..``, never an
empty, ``.`` or backslash-bearing component. An unsafe name is refused wherever
it appears, at signing and at verification alike.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from signing.errors import StatementFormatError, UnsafePathError

__all__ = [
    "DEFAULT_IGNORED_PATHS",
    "HashAlgorithm",
    "Manifest",
    "ManifestDiff",
    "Method",
    "Resource",
    "Serialization",
    "check_name",
    "normalise_ignore_path",
    "shard_name",
    "split_shard_name",
]

# Paths model_signing leaves out by default; recorded in every signature we make.
DEFAULT_IGNORED_PATHS: tuple[str, ...] = (".git", ".gitattributes", ".github", ".gitignore")

# The name of the single resource when the model is one file, not a directory.
SINGLE_FILE_NAME = "."


class HashAlgorithm(enum.StrEnum):
    """The content hashes OMS allows for resources."""

    SHA256 = "sha256"
    BLAKE2B = "blake2b"
    BLAKE3 = "blake3"

    @property
    def digest_size(self) -> int:
        """Size in bytes of one digest."""
        return 64 if self is HashAlgorithm.BLAKE2B else 32

    @classmethod
    def parse(cls, value: object) -> HashAlgorithm:
        """Read a hash name from a signature (``blake2`` is an accepted alias)."""
        if value == "blake2":
            return cls.BLAKE2B
        try:
            return cls(str(value))
        except ValueError:
            raise StatementFormatError(f"unsupported hash algorithm {value!r}") from None


class Method(enum.StrEnum):
    """How a model is cut into resources."""

    FILES = "files"
    SHARDS = "shards"


def check_name(name: str, *, allow_single_file: bool = True) -> str:
    """Return ``name`` if it is a normalised relative POSIX path, else raise.

    Raises :class:`~signing.errors.UnsafePathError` for absolute names, ``..``,
    empty or ``.`` components, backslashes and NUL bytes.
    """
    if name == SINGLE_FILE_NAME and allow_single_file:
        return name
    if not name:
        raise UnsafePathError(name, "empty name")
    if "\x00" in name:
        raise UnsafePathError(name, "contains a NUL byte")
    if "\\" in name:
        raise UnsafePathError(name, "contains a backslash (not a portable path)")
    if name.startswith("/"):
        raise UnsafePathError(name, "absolute path")
    for part in name.split("/"):
        if part == "..":
            raise UnsafePathError(name, "escapes the model directory ('..')")
        if part in ("", "."):
            raise UnsafePathError(name, "not a normalised path (empty or '.' component)")
    return name


def normalise_ignore_path(path: str) -> str | None:
    """Normalise an ignore entry to a model-relative name, or ``None`` if it matches nothing.

    Leading ``./`` and trailing ``/`` are dropped. Entries that are absolute or
    contain ``..`` can never name a file inside the model, so they return ``None``.
    """
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or path.startswith("/") or ".." in parts:
        return None
    return "/".join(parts)


def shard_name(path: str, start: int, end: int) -> str:
    """The OMS name of bytes ``[start, end)`` of ``path``."""
    return f"{path}:{start}:{end}"


def split_shard_name(name: str) -> tuple[str, int, int]:
    """Split ``"<path>:<start>:<end>"``; the path itself may contain ``:``."""
    try:
        path, start_text, end_text = name.rsplit(":", 2)
        if not (start_text.isdigit() and end_text.isdigit()):
            raise ValueError(name)
        start, end = int(start_text), int(end_text)
    except ValueError:
        raise StatementFormatError(
            f"shard name {name!r} is not of the form <path>:<start>:<end>"
        ) from None
    if end <= start:
        raise StatementFormatError(f"shard {name!r} is empty or reversed")
    return check_name(path), start, end


def _sort_key(name: str, method: Method) -> tuple[tuple[str, ...], int, int]:
    """Order of resources in a manifest: by path components, then offsets.

    This is the order model_signing produces (it sorts ``PurePosixPath`` keys),
    so equal models give byte-identical resource lists in both tools.
    """
    if method is Method.SHARDS:
        path, start, end = split_shard_name(name)
    else:
        path, start, end = name, 0, 0
    return (() if path == SINGLE_FILE_NAME else tuple(path.split("/"))), start, end


@dataclass(frozen=True, slots=True)
class Serialization:
    """Every parameter needed to hash a model again the same way.

    ``ignore_paths`` are model-relative names; a directory entry ignores
    everything below it. They are recorded in the signature so a verifier
    leaves out exactly what the signer left out.
    """

    method: Method = Method.FILES
    hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256
    shard_size: int | None = None
    allow_symlinks: bool = False
    ignore_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.method is Method.SHARDS:
            if self.shard_size is None or self.shard_size <= 0:
                raise ValueError("sharded serialization needs a positive shard_size")
        elif self.shard_size is not None:
            raise ValueError("shard_size is only meaningful with method 'shards'")
        cleaned = sorted({p for p in map(normalise_ignore_path, self.ignore_paths) if p})
        object.__setattr__(self, "ignore_paths", tuple(cleaned))

    @classmethod
    def files(
        cls,
        hash_algorithm: HashAlgorithm | str = HashAlgorithm.SHA256,
        *,
        allow_symlinks: bool = False,
        ignore_paths: Iterable[str] = (),
    ) -> Serialization:
        """Whole-file resources."""
        return cls(
            Method.FILES, HashAlgorithm(hash_algorithm), None, allow_symlinks, tuple(ignore_paths)
        )

    @classmethod
    def shards(
        cls,
        shard_size: int,
        hash_algorithm: HashAlgorithm | str = HashAlgorithm.SHA256,
        *,
        allow_symlinks: bool = False,
        ignore_paths: Iterable[str] = (),
    ) -> Serialization:
        """Fixed-size byte-range resources (the last shard of a file may be shorter)."""
        return cls(
            Method.SHARDS,
            HashAlgorithm(hash_algorithm),
            shard_size,
            allow_symlinks,
            tuple(ignore_paths),
        )

    def with_ignored(self, extra: Iterable[str]) -> Serialization:
        """A copy that also ignores ``extra``."""
        return Serialization(
            self.method,
            self.hash_algorithm,
            self.shard_size,
            self.allow_symlinks,
            (*self.ignore_paths, *extra),
        )

    @property
    def resource_algorithm(self) -> str:
        """The ``algorithm`` written on each resource, as model_signing writes it."""
        if self.method is Method.SHARDS:
            return f"{self.hash_algorithm}-sharded-{self.shard_size}"
        return str(self.hash_algorithm)

    def accepts_resource_algorithm(self, algorithm: str) -> bool:
        """Whether a resource's ``algorithm`` agrees with these parameters.

        The bare hash name (as the OMS schema writes it) and model_signing's
        ``<hash>-sharded-<size>`` spelling are both accepted for shards.
        """
        if algorithm == str(self.hash_algorithm):
            return True
        if self.hash_algorithm is HashAlgorithm.BLAKE2B and algorithm == "blake2":
            return True
        return self.method is Method.SHARDS and algorithm == self.resource_algorithm

    def to_json(self) -> dict[str, Any]:
        """The ``predicate.serialization`` object."""
        out: dict[str, Any] = {
            "method": str(self.method),
            "hash_type": str(self.hash_algorithm),
            "allow_symlinks": self.allow_symlinks,
        }
        if self.shard_size is not None:
            out["shard_size"] = self.shard_size
        if self.ignore_paths:
            out["ignore_paths"] = list(self.ignore_paths)
        return out

    @classmethod
    def from_json(cls, data: object) -> Serialization:
        """Read ``predicate.serialization``; raises :class:`StatementFormatError`."""
        if not isinstance(data, Mapping):
            raise StatementFormatError("predicate.serialization is not an object")
        try:
            method = Method(data["method"])
        except (KeyError, ValueError):
            raise StatementFormatError(
                f"unknown serialization method {data.get('method')!r}"
            ) from None
        algorithm = HashAlgorithm.parse(data.get("hash_type"))
        allow = data.get("allow_symlinks", False)
        if isinstance(allow, str):  # v0.2-era signatures wrote "false"
            allow = allow.lower() == "true"
        if not isinstance(allow, bool):
            raise StatementFormatError("serialization.allow_symlinks is not a boolean")
        ignore = data.get("ignore_paths", [])
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            raise StatementFormatError("serialization.ignore_paths is not a list of strings")
        shard_size: int | None = None
        if method is Method.SHARDS:
            raw = data.get("shard_size")
            # model_signing writes the size through a protobuf Struct, as a float.
            if isinstance(raw, float) and raw.is_integer():
                raw = int(raw)
            if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
                raise StatementFormatError(f"invalid shard_size {raw!r}")
            shard_size = raw
        return cls(method, algorithm, shard_size, allow, tuple(ignore))


@dataclass(frozen=True, slots=True)
class Resource:
    """One named, hashed piece of a model."""

    name: str
    algorithm: str
    digest: bytes

    @property
    def hex(self) -> str:
        """The digest in lower-case hex, as signatures carry it."""
        return self.digest.hex()


@dataclass(frozen=True, slots=True)
class ManifestDiff:
    """Why two manifests differ; empty (falsy) when they agree."""

    extra: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.extra or self.missing or self.changed)

    def summary(self, limit: int = 5) -> str:
        """One line: ``changed: a, b; extra: c; missing: d`` (long lists are cut)."""

        def _names(names: tuple[str, ...]) -> str:
            shown = ", ".join(names[:limit])
            return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")

        parts = [
            f"{label}: {_names(names)}"
            for label, names in (
                ("changed", self.changed),
                ("extra", self.extra),
                ("missing", self.missing),
            )
            if names
        ]
        return "; ".join(parts) if parts else "no differences"


@dataclass(frozen=True, slots=True, eq=False)
class Manifest:
    """An ordered list of resources plus the parameters that produced them.

    Order is significant for the signature (the subject digest is computed over
    the listed order) but not for equality.
    """

    model_name: str
    serialization: Serialization
    resources: tuple[Resource, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for resource in self.resources:
            if resource.name in seen:
                raise StatementFormatError(f"resource {resource.name!r} is listed twice")
            seen.add(resource.name)

    @classmethod
    def build(
        cls, model_name: str, serialization: Serialization, digests: Mapping[str, bytes]
    ) -> Manifest:
        """A manifest in canonical order from ``{name: digest}``."""
        algorithm = serialization.resource_algorithm
        names = sorted(digests, key=lambda n: _sort_key(n, serialization.method))
        return cls(
            model_name,
            serialization,
            tuple(Resource(name, algorithm, digests[name]) for name in names),
        )

    def digests(self) -> dict[str, bytes]:
        """``{name: digest}``."""
        return {r.name: r.digest for r in self.resources}

    def root_digest(self) -> bytes:
        """SHA-256 over the resource digests concatenated in listed order (the subject digest)."""
        hasher = hashlib.sha256()
        for resource in self.resources:
            hasher.update(resource.digest)
        return hasher.digest()

    def file_names(self) -> tuple[str, ...]:
        """The distinct file paths the resources cover, in listed order."""
        if self.serialization.method is Method.FILES:
            return tuple(r.name for r in self.resources)
        seen: dict[str, None] = {}
        for resource in self.resources:
            seen.setdefault(split_shard_name(resource.name)[0], None)
        return tuple(seen)

    def diff(self, actual: Manifest) -> ManifestDiff:
        """How ``actual`` (the model on disk) differs from this (the signed) manifest."""
        expected_map, actual_map = self.digests(), actual.digests()
        return ManifestDiff(
            extra=tuple(n for n in _ordered(actual_map, actual) if n not in expected_map),
            missing=tuple(n for n in _ordered(expected_map, self) if n not in actual_map),
            changed=tuple(
                n
                for n in _ordered(expected_map, self)
                if n in actual_map and actual_map[n] != expected_map[n]
            ),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Manifest):
            return NotImplemented
        return self.digests() == other.digests()

    def __hash__(self) -> int:
        return hash(frozenset(self.digests().items()))


def _ordered(names: Mapping[str, bytes], manifest: Manifest) -> Sequence[str]:
    return [r.name for r in manifest.resources if r.name in names]
