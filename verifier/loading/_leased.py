"""Verified bytes read in place: a file under a kernel read lease while it is hashed and loaded.

Copying a 500 MB model into a sealed memory file (:mod:`verifier.loading._sealed`)
costs a second copy of the model and the time to make it. A read lease
(``fcntl(F_SETLEASE, F_RDLCK)``) gives the same guarantee without the copy, for as
long as it is held:

* the kernel grants it only when no one has the file open for writing (a writable
  descriptor or a shared writable mapping), so nothing can already be writing;
* any later ``open`` for writing or ``truncate`` of that inode (through any path,
  hard link or ``/proc``) breaks the lease: the writer is blocked (up to
  ``/proc/sys/fs/lease-break-time``) and the lease reads as broken
  (``F_GETLEASE`` no longer ``F_RDLCK``); a rename or unlink changes nothing for
  the descriptor held.

So :func:`lease_and_verify` opens the file, takes the lease, hashes the bytes
through that descriptor, and the runtime then reads the same inode through
``/proc/self/fd/N``; :meth:`LeasedFile.check_intact` after the runtime is done
proves no writer got in, else :class:`~verifier.loading.errors.LeaseBroken` and
the result is discarded. The lease-break signal is redirected to ``SIGURG``
(ignored by default) and the owner cleared, so a writer cannot kill the process.

Leases need a local filesystem and the file's owner (or ``CAP_LEASE``); when the
kernel refuses one, :func:`lease_and_verify` returns ``None`` and the caller uses
the sealed copy instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import mmap
import os
import signal
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3

from verifier.loading._sealed import parse_digest
from verifier.loading.errors import DigestMismatch, LeaseBroken, MissingLoadInput

__all__ = ["LeasedFile", "lease_and_verify"]

_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
_BLAKE3_THREADS = 2


class LeasedFile:
    """An open, leased, verified file. Close it (or use ``with``) to release the lease."""

    def __init__(self, name: str, fd: int, size: int, digest: str) -> None:
        self.name = name
        self.size = size
        self.digest = digest
        self.inspected: Any = None  # what ``inspect`` returned on the verified bytes
        self._fd = fd

    @property
    def proc_path(self) -> str:
        if self._fd < 0:
            raise ValueError("leased file is closed")
        return f"/proc/self/fd/{self._fd}"

    def view(self) -> mmap.mmap:
        """A read-only map of the bytes (close it before handing the file on)."""
        return mmap.mmap(
            self._fd, self.size, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE, prot=mmap.PROT_READ
        )

    def check_intact(self) -> None:
        """Raise :class:`LeaseBroken` if a writer tried to open or truncate the file."""
        if self._fd < 0 or fcntl.fcntl(self._fd, fcntl.F_GETLEASE) != fcntl.F_RDLCK:
            raise LeaseBroken(f"{self.name}: someone opened the file for writing during the load")
        if os.fstat(self._fd).st_size != self.size:  # pragma: no cover - the lease forbids it
            raise LeaseBroken(f"{self.name}: the file changed size during the load")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lease; a blocked writer proceeds
            self._fd = -1

    def __enter__(self) -> LeasedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _take_lease(fd: int) -> bool:
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)  # before the lease: no window for SIGIO
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        fcntl.fcntl(fd, fcntl.F_SETOWN, 0)  # and no one to signal at all
    except OSError:
        return False
    return True


def lease_and_verify(
    name: str,
    path: str | os.PathLike[str],
    digest: str,
    inspect: Callable[[memoryview], Any] | None = None,
) -> LeasedFile | None:
    """Open ``path``, lease it, check it against ``digest``; ``None`` if no lease is possible.

    ``inspect`` runs on the verified bytes through the same map, right after the
    digest matched (one pass over the file); its result is ``LeasedFile.inspected``.
    The map is gone when this returns. Raises :class:`DigestMismatch` when the bytes
    differ from the digest and :class:`MissingLoadInput` when the file cannot be opened.
    """
    algorithm, expected = parse_digest(name, digest)
    try:
        fd = os.open(Path(path), _OPEN_FLAGS)
    except OSError as exc:
        raise MissingLoadInput(f"{name}: cannot open {os.fspath(path)!r}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise MissingLoadInput(f"{name}: {os.fspath(path)!r} is not a regular file")
        if info.st_size == 0 or not _take_lease(fd):
            os.close(fd)
            return None
        leased = LeasedFile(name, fd, info.st_size, f"{algorithm}:{expected}")
    except BaseException:
        os.close(fd)
        raise
    try:
        with leased.view() as mapped:
            if algorithm == "sha256":
                actual = hashlib.sha256(mapped).hexdigest()
            else:
                actual = blake3.blake3(mapped, max_threads=_BLAKE3_THREADS).hexdigest()
            leased.check_intact()
            if not hmac.compare_digest(actual, expected):
                raise DigestMismatch(name, f"{algorithm}:{expected}", f"{algorithm}:{actual}")
            if inspect is not None:
                view = memoryview(mapped)
                try:
                    leased.inspected = inspect(view)
                finally:
                    view.release()
    except BaseException:
        leased.close()
        raise
    return leased
