"""The one hashing engine: a model directory (or file) to a :class:`~signing.manifest.Manifest`.

Rules (OpenSSF Model Signing v1, with Custody's stricter path handling):

* Files are found by walking the model directory; entries under an ignored path
  are never opened, and ignored directories are not descended into.
* With ``allow_symlinks=False`` (the default) any symbolic link in the tree is
  an error. With ``True``, a link to a regular file is hashed as that file's
  bytes under the link's name, provided its target lies inside the model
  directory; links that leave the tree and links to directories are refused.
* FIFOs, sockets and devices are refused (opening a FIFO would block).
* ``files``: one resource per file, empty files included. ``shards``: one
  resource per ``shard_size`` bytes; empty files produce no shard (as in
  model_signing, so manifests stay comparable).

Work is spread over a thread pool. Every unit (a whole file, or one shard)
reads its byte range with ``os.preadv`` into a per-thread buffer of fixed size,
and ``hashlib`` / ``blake3`` release the GIL while hashing, so two cores work
on one large file when it is sharded, and memory stays flat whatever the model
size. Units are scheduled largest first so the pool finishes together.
BLAKE3 hashes large files with its own internal threads instead.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import blake3

from signing.errors import HashingError, ModelPathError, UnsafePathError
from signing.manifest import (
    SINGLE_FILE_NAME,
    HashAlgorithm,
    Manifest,
    Method,
    Serialization,
    check_name,
    shard_name,
)

__all__ = ["DEFAULT_BUFFER_SIZE", "HashOptions", "hash_bytes", "hash_model"]

# 1 MiB reads stay in the L2 cache between the copy and the hash (measured here:
# as fast as hashlib's own loop; 4 MiB and more are a few per cent slower).
DEFAULT_BUFFER_SIZE = 1024 * 1024
# Files at least this large are hashed by BLAKE3's own worker threads, which
# need larger reads to split the work.
_BLAKE3_PARALLEL_THRESHOLD = 64 * 1024 * 1024
_BLAKE3_PARALLEL_BUFFER = 8 * 1024 * 1024

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class _Hasher(Protocol):
    def update(self, data: memoryview, /) -> object: ...

    def digest(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class HashOptions:
    """Execution knobs that do not change the digests."""

    workers: int | None = None
    buffer_size: int = DEFAULT_BUFFER_SIZE

    def worker_count(self) -> int:
        """Threads to use: the given count, or the CPUs this process may run on."""
        if self.workers is not None:
            return max(1, self.workers)
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class _File:
    name: str
    path: Path
    size: int


@dataclass(frozen=True, slots=True)
class _Unit:
    file: _File
    start: int
    end: int
    name: str


def _new_hasher(algorithm: HashAlgorithm, threads: int = 1) -> _Hasher:
    if algorithm is HashAlgorithm.SHA256:
        return hashlib.sha256()
    if algorithm is HashAlgorithm.BLAKE2B:
        return hashlib.blake2b()
    return blake3.blake3(max_threads=threads)


def hash_bytes(algorithm: HashAlgorithm, data: bytes) -> bytes:
    """Digest of an in-memory buffer with one of the resource algorithms."""
    hasher = _new_hasher(algorithm)
    hasher.update(memoryview(data))
    return hasher.digest()


def _is_ignored(name: str, ignored: Collection[str]) -> bool:
    if not ignored:
        return False
    if name in ignored:
        return True
    parts = name.split("/")
    return any("/".join(parts[:i]) in ignored for i in range(1, len(parts)))


def _inside(root_real: str, target_real: str) -> bool:
    return target_real == root_real or target_real.startswith(root_real.rstrip("/") + "/")


def _classify(path: Path, name: str, root_real: str, allow_symlinks: bool) -> os.stat_result:
    """``lstat``/``stat`` a tree entry and enforce the symlink and file-type rules."""
    try:
        info = path.lstat()
    except OSError as exc:
        raise ModelPathError(f"cannot stat {name!r}: {exc.strerror}") from exc
    if stat.S_ISLNK(info.st_mode):
        if not allow_symlinks:
            raise ModelPathError(
                f"{name!r} is a symbolic link; links are refused unless allow_symlinks is set"
            )
        target = os.path.realpath(path)
        if not _inside(root_real, target):
            raise UnsafePathError(name, "symbolic link points outside the model directory")
        try:
            info = Path(target).stat()
        except OSError as exc:
            raise ModelPathError(f"{name!r} is a dangling symbolic link") from exc
        if stat.S_ISDIR(info.st_mode):
            raise ModelPathError(f"{name!r} is a symbolic link to a directory (not supported)")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise ModelPathError(f"{name!r} is not a regular file or directory")
    return info


def _walk(root: Path, serialization: Serialization, root_real: str) -> Iterator[_File]:
    ignored = frozenset(serialization.ignore_paths)
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise ModelPathError(f"cannot list {prefix or '.'!r}: {exc.strerror}") from exc
        for entry in entries:
            name = f"{prefix}{entry.name}"
            if _is_ignored(name, ignored):
                continue
            check_name(name, allow_single_file=False)
            path = Path(entry.path)
            info = _classify(path, name, root_real, serialization.allow_symlinks)
            if stat.S_ISDIR(info.st_mode):
                stack.append((path, name + "/"))
            else:
                yield _File(name, path, info.st_size)


def _listed_files(
    root: Path, names: Collection[str], serialization: Serialization, root_real: str
) -> Iterator[_File]:
    """The files named by a signed manifest, confined to the model directory."""
    for name in sorted(names):
        check_name(name, allow_single_file=False)
        path = root / name
        # Every ancestor must be a real directory inside the tree: a link in the
        # middle of the path could lead anywhere.
        parent = root
        for part in name.split("/")[:-1]:
            parent = parent / part
            try:
                parent_info = parent.lstat()
            except FileNotFoundError:
                break
            if stat.S_ISLNK(parent_info.st_mode):
                raise UnsafePathError(name, "a parent directory is a symbolic link")
        try:
            info = _classify(path, name, root_real, serialization.allow_symlinks)
        except ModelPathError:
            if not os.path.lexists(path):
                continue  # reported as missing by the manifest comparison
            raise
        if not stat.S_ISREG(path.stat().st_mode):
            raise ModelPathError(f"{name!r} is not a regular file")
        yield _File(name, path, info.st_size)


def _units(files: list[_File], serialization: Serialization) -> list[_Unit]:
    units: list[_Unit] = []
    for file in files:
        if serialization.method is Method.FILES:
            units.append(_Unit(file, 0, file.size, file.name))
            continue
        size = serialization.shard_size or 1
        for start in range(0, file.size, size):
            end = min(start + size, file.size)
            units.append(_Unit(file, start, end, shard_name(file.name, start, end)))
    units.sort(key=lambda u: u.end - u.start, reverse=True)
    return units


class _Reader:
    """Hashes byte ranges with one reusable buffer per thread."""

    def __init__(self, serialization: Serialization, options: HashOptions, workers: int) -> None:
        self._algorithm = serialization.hash_algorithm
        self._nofollow = 0 if serialization.allow_symlinks else _NOFOLLOW
        self._buffer_size = max(64 * 1024, options.buffer_size)
        self._workers = workers
        self._local = threading.local()

    def _buffer(self, size: int) -> memoryview:
        buffers: dict[int, memoryview] | None = getattr(self._local, "buffers", None)
        if buffers is None:
            buffers = self._local.buffers = {}
        if size not in buffers:
            buffers[size] = memoryview(bytearray(size))
        return buffers[size]

    def hash_unit(self, unit: _Unit) -> tuple[str, bytes]:
        threads, size = 1, self._buffer_size
        if self._algorithm is HashAlgorithm.BLAKE3 and unit.end >= _BLAKE3_PARALLEL_THRESHOLD:
            threads, size = self._workers, max(size, _BLAKE3_PARALLEL_BUFFER)
        hasher = _new_hasher(self._algorithm, threads)
        buf = self._buffer(size)
        try:
            fd = os.open(unit.file.path, _OPEN_FLAGS | self._nofollow)
        except OSError as exc:
            raise HashingError(f"cannot open {unit.file.name!r}: {exc.strerror}") from exc
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ModelPathError(f"{unit.file.name!r} is not a regular file")
            if info.st_size != unit.file.size:
                raise HashingError(f"{unit.file.name!r} changed size while the model was hashed")
            offset, end = unit.start, unit.end
            while offset < end:
                want = min(len(buf), end - offset)
                view = buf[:want]
                got = os.preadv(fd, [view], offset)
                if got <= 0:
                    raise HashingError(f"{unit.file.name!r} was truncated while it was hashed")
                hasher.update(view[:got])
                offset += got
        except OSError as exc:
            raise HashingError(f"cannot read {unit.file.name!r}: {exc.strerror}") from exc
        finally:
            os.close(fd)
        return unit.name, hasher.digest()


def hash_model(
    model_path: str | os.PathLike[str],
    serialization: Serialization | None = None,
    *,
    only: Collection[str] | None = None,
    options: HashOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Hash a model directory or single file into a manifest.

    ``only`` restricts hashing to the files a signed manifest names (the
    "ignore unsigned files" mode of verification); those names are still
    checked and confined to the model directory. ``progress`` is called with
    the byte count of each finished unit.

    Raises :class:`~signing.errors.ModelPathError`,
    :class:`~signing.errors.UnsafePathError` or :class:`~signing.errors.HashingError`.
    """
    serialization = serialization or Serialization()
    options = options or HashOptions()
    root = Path(model_path)
    try:
        root_info = root.lstat()
    except OSError as exc:
        raise ModelPathError(f"model path {str(root)!r} does not exist") from exc
    if stat.S_ISLNK(root_info.st_mode) and not serialization.allow_symlinks:
        raise ModelPathError(f"model path {str(root)!r} is a symbolic link")
    root_real = os.path.realpath(root)
    model_name = Path(root_real).name or root_real

    try:
        info = root.stat()
    except OSError as exc:
        raise ModelPathError(f"model path {str(root)!r} cannot be read: {exc.strerror}") from exc
    if stat.S_ISREG(info.st_mode):
        files = [_File(SINGLE_FILE_NAME, root, info.st_size)]
        if only is not None and SINGLE_FILE_NAME not in only:
            files = []
    elif stat.S_ISDIR(info.st_mode):
        if only is not None:
            files = list(_listed_files(root, only, serialization, root_real))
        else:
            files = list(_walk(root, serialization, root_real))
    else:
        raise ModelPathError(f"model path {str(root)!r} is not a regular file or directory")

    units = _units(files, serialization)
    workers = options.worker_count()
    reader = _Reader(serialization, options, workers)
    digests: dict[str, bytes] = {}
    if workers == 1 or len(units) <= 1:
        for unit in units:
            name, digest = reader.hash_unit(unit)
            digests[name] = digest
            if progress is not None:
                progress(unit.end - unit.start)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="custody-hash") as pool:
            for unit, (name, digest) in zip(units, pool.map(reader.hash_unit, units), strict=True):
                digests[name] = digest
                if progress is not None:
                    progress(unit.end - unit.start)
    return Manifest.build(model_name, serialization, digests)
