"""Small in-process caches for the pull hot path, with short lifetimes.

Every ``GET`` of a manifest would otherwise cost an authentication query and a
manifest query (measured here: ~1 ms each through the async ORM). These caches
remove them on repeated pulls, with or without credentials, and on ``HEAD`` of
a blob (how every client asks "do you have it?"):

- credentials: token hash -> principal, for ``CUSTODY_AUTH_CACHE_SECONDS``
  (default 5 s). Revoking a token through this process takes effect at once;
  through another process or replica within that many seconds. (Docker-style
  registries hand out bearer JWTs that cannot be revoked at all before expiry.)
- anonymous pull: namespace -> whether it serves pulls without credentials,
  with the same bound and rules as credentials (``CUSTODY_AUTH_CACHE_SECONDS``):
  turning it off through the API takes effect at once; through the CLI or
  another replica, within that many seconds. One lookup serves every route
  (``registry.auth.anonymous``), and no access token stores the answer.
- manifests by tag: (repository, tag) -> manifest bytes, for
  ``CUSTODY_MANIFEST_CACHE_SECONDS`` (default 1 s), dropped at once by any
  write through this process; other replicas see an alias move within 1 s.
- blob links: (repository, digest) -> size, for ``CUSTODY_MANIFEST_CACHE_SECONDS``;
  only blobs that are there are remembered (a pushed blob is visible at once),
  and unlinking one through this process drops it at once.

Authorisation is decided on every request, from the cached facts: a cached
manifest or blob is never served before the caller's pull right is checked.
Setting either lifetime to 0 turns its caches off.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A bounded LRU map whose entries expire ``ttl`` seconds after insertion."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        if self.ttl <= 0:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            self._entries.pop(key, None)
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        self._entries[key] = (time.monotonic() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


@dataclass(frozen=True, slots=True)
class CachedManifest:
    digest: str
    media_type: str
    content: bytes
