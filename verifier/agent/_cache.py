"""The content-addressed blob cache: ``blobs/sha256/<hex>``, verified on the way in and out.

A blob enters the cache only through :meth:`BlobCache.fetch`, which downloads it
by digest (resuming a ``.partial`` file with ``Range``), refuses a body longer
than the signed length, checks sha256 and length, and computes the blake3 digest
over the same bytes in the same pass. The blake3 goes into the agent's protected
state; at load, the sealed copy of the file is checked against it (two cores,
~3x faster than sha256 here). A cached blob is re-checked before it is reused;
if it was altered on disk it is deleted and fetched again.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from pathlib import Path

import blake3

from verifier.agent.errors import AgentError
from verifier.clients.registry import RegistryClient
from verifier.errors import FetchError, IntegrityError

__all__ = ["BlobCache", "blake3_of_file"]

_READ = 4 * 1024 * 1024
_THREADS = 2


def blake3_of_file(path: Path) -> str:
    hasher = blake3.blake3(max_threads=_THREADS)
    hasher.update_mmap(path)
    return "blake3:" + hasher.hexdigest()


class BlobCache:
    """Blobs by sha256 under ``root``; ``index`` maps sha256 -> {blake3, size} (agent state)."""

    def __init__(self, root: Path, index: dict[str, dict[str, object]]) -> None:
        self.root = root
        self.index = index

    def path(self, digest: str) -> Path:
        algorithm, _, value = digest.partition(":")
        if algorithm != "sha256" or len(value) != 64:
            raise AgentError("format", f"unusable blob digest {digest!r}")
        return self.root / "sha256" / value

    def cached(self, digest: str, size: int) -> str | None:
        """The blake3 of a cached blob that still matches the index, else ``None``.

        A blob that differs from its recorded size or blake3 is deleted (it will be
        fetched again); a blob without an index entry is not trusted.
        """
        path = self.path(digest)
        entry = self.index.get(digest)
        if not path.is_file() or entry is None:
            return None
        expected = str(entry.get("blake3", ""))
        if entry.get("size") == size and path.stat().st_size == size:
            actual = blake3_of_file(path)
            if hmac.compare_digest(actual, expected):
                return actual
        path.unlink(missing_ok=True)
        self.index.pop(digest, None)
        return None

    def fetch(
        self,
        client: RegistryClient,
        repository: str,
        digest: str,
        size: int,
        progress: Callable[[int], None] | None = None,
    ) -> str:
        """Download a blob into the cache (verified); return its blake3 digest."""
        path = self.path(digest)
        try:
            hasher = client.download_blob(
                repository,
                digest,
                path,
                size=size,
                progress=progress,
                extra_hash=lambda: blake3.blake3(max_threads=_THREADS),
            )
        except IntegrityError as exc:
            raise AgentError("digest", exc.diagnostics()) from exc
        except FetchError as exc:
            raise AgentError("network", exc.diagnostics()) from exc
        except OSError as exc:
            raise AgentError("storage", f"cannot write blob {digest}: {exc}") from exc
        if path.stat().st_size != size:
            path.unlink(missing_ok=True)
            raise AgentError("digest", f"blob {digest} is not the signed {size} bytes")
        value = "blake3:" + str(hasher.hexdigest())
        self.index[digest] = {"blake3": value, "size": size}
        return value

    def read_small(
        self, client: RegistryClient, repository: str, digest: str, size: int, limit: int
    ) -> bytes:
        """A small blob (a signature bundle) as bytes, through the cache."""
        if size > limit:
            raise AgentError("format", f"blob {digest} is {size} bytes, over the {limit} limit")
        if self.cached(digest, size) is None:
            self.fetch(client, repository, digest, size)
        data = self.path(digest).read_bytes()
        if len(data) != size:
            raise AgentError("digest", f"blob {digest} changed in the cache")
        return data
