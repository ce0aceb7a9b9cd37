"""Verified bytes that cannot change: a file copied into a sealed memory file, then hashed.

:func:`seal_and_verify` copies a file into an anonymous memory file
(``memfd_create``) inside the kernel (``sendfile``: the file on disk is read
once, never mapped into Python), seals it against every write, shrink and grow
(``F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL``), and only then
hashes the sealed contents. The digest therefore speaks for the exact bytes any
later reader sees: a file swapped or rewritten on disk after the copy is
irrelevant, and nothing (not even this process) can alter the memory file
afterwards. Readers use :attr:`SealedFile.proc_path` (``/proc/self/fd/N``, so a
runtime can memory-map it by path) or :meth:`SealedFile.view` (a read-only map).

Digests are ``"<algorithm>:<hex>"`` with ``sha256`` or ``blake3``; blake3 hashes
on two threads and is the cheap re-verification digest an agent may keep in its
protected state after checking sha256 on download.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import mmap
import os
import stat
from pathlib import Path

import blake3

from verifier.loading.errors import DigestMismatch, MissingLoadInput

__all__ = ["SUPPORTED_ALGORITHMS", "SealedFile", "parse_digest", "seal_and_verify"]

SUPPORTED_ALGORITHMS = ("sha256", "blake3")
_SEALS = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL
_OPEN_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
_BLAKE3_THREADS = 2


def parse_digest(name: str, digest: str) -> tuple[str, str]:
    """``"sha256:ab.."`` -> ``("sha256", "ab..")``; raise :class:`MissingLoadInput` if unusable."""
    algorithm, _, value = digest.partition(":")
    size = 32
    if algorithm not in SUPPORTED_ALGORITHMS or len(value) != 2 * size:
        raise MissingLoadInput(
            f"{name}: unusable digest {digest!r} (want sha256:<hex> or blake3:<hex>)"
        )
    try:
        bytes.fromhex(value)
    except ValueError:
        raise MissingLoadInput(f"{name}: digest {digest!r} is not hexadecimal") from None
    return algorithm, value.lower()


class SealedFile:
    """A sealed, verified memory file. Close it (or use ``with``) when done."""

    def __init__(self, name: str, fd: int, size: int, digest: str) -> None:
        self.name = name
        self.size = size
        self.digest = digest
        self._fd = fd
        self._maps: list[mmap.mmap] = []

    @property
    def fd(self) -> int:
        return self._fd

    @property
    def proc_path(self) -> str:
        """A path naming these bytes while the file is open (``/proc/self/fd/N``)."""
        if self._fd < 0:
            raise ValueError("sealed file is closed")
        return f"/proc/self/fd/{self._fd}"

    def view(self, *, populate: bool = False) -> memoryview:
        """The bytes as a read-only map (empty files give an empty view).

        ``populate`` maps every page up front (``MAP_POPULATE``): one kernel pass
        instead of a page fault per 4 KiB page when the whole file is read anyway.
        """
        if self._fd < 0:
            raise ValueError("sealed file is closed")
        if self.size == 0:
            return memoryview(b"")
        flags = mmap.MAP_SHARED | (mmap.MAP_POPULATE if populate else 0)
        mapped = mmap.mmap(self._fd, self.size, flags=flags, prot=mmap.PROT_READ)
        self._maps.append(mapped)
        return memoryview(mapped)

    def close(self) -> None:
        """Close the descriptor; maps stay valid until their views are released."""
        for mapped in self._maps:
            # A view still exported keeps its map alive; it goes with the view.
            with contextlib.suppress(BufferError):
                mapped.close()
        self._maps.clear()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SealedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _copy_into(source: int, target: int, size: int) -> None:
    offset = 0
    while offset < size:
        sent = os.sendfile(target, source, offset, size - offset)
        if sent == 0:
            break
        offset += sent


def seal_and_verify(name: str, path: str | os.PathLike[str], digest: str) -> SealedFile:
    """Copy ``path`` into a sealed memory file and check it against ``digest``.

    Raises :class:`DigestMismatch` when the sealed bytes differ from the digest,
    :class:`MissingLoadInput` when the file cannot be read or the digest is unusable.
    """
    algorithm, expected = parse_digest(name, digest)
    try:
        source = os.open(Path(path), _OPEN_FLAGS)
    except OSError as exc:
        raise MissingLoadInput(f"{name}: cannot open {os.fspath(path)!r}: {exc.strerror}") from None
    memfd = -1
    try:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):
            raise MissingLoadInput(f"{name}: {os.fspath(path)!r} is not a regular file")
        memfd = os.memfd_create(f"custody:{name}"[:240], os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        _copy_into(source, memfd, info.st_size)
        # Whatever the file did meanwhile (grew, shrank, was rewritten), the memory file
        # now holds what was copied; seal it before hashing so the digest covers exactly
        # the bytes any later reader sees.
        fcntl.fcntl(memfd, fcntl.F_ADD_SEALS, _SEALS)
        size = os.fstat(memfd).st_size
    except OSError as exc:
        if memfd >= 0:
            os.close(memfd)
        raise MissingLoadInput(f"{name}: cannot copy {os.fspath(path)!r}: {exc}") from None
    except BaseException:
        if memfd >= 0:
            os.close(memfd)
        raise
    finally:
        os.close(source)
    sealed = SealedFile(name, memfd, size, f"{algorithm}:{expected}")
    try:
        actual = _hash(sealed, algorithm)
        if not hmac.compare_digest(actual, expected):
            raise DigestMismatch(name, f"{algorithm}:{expected}", f"{algorithm}:{actual}")
    except BaseException:
        sealed.close()
        raise
    return sealed


def _hash(sealed: SealedFile, algorithm: str) -> str:
    if sealed.size == 0:
        data: bytes | mmap.mmap = b""
    else:
        # A map of its own, unmapped right after: a page mapped twice counts twice in
        # the process's resident size, and readers map the file again anyway.
        data = mmap.mmap(
            sealed.fd, sealed.size, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE, prot=mmap.PROT_READ
        )
    try:
        if algorithm == "sha256":
            return hashlib.sha256(data).hexdigest()
        return blake3.blake3(data, max_threads=_BLAKE3_THREADS).hexdigest()
    finally:
        if isinstance(data, mmap.mmap):
            data.close()
