"""Whether a namespace serves pulls without credentials: one cached lookup for every route.

``/v2/``, the TUF metadata, the lifecycle API, the namespace view and the token
endpoint all ask the app's one :class:`AnonymousPull` (``services.anonymous_pull``),
which reads the setting through one cache (``CUSTODY_AUTH_CACHE_SECONDS``, see
``registry.cache``). Changing the setting through the API calls its ``forget``, so
it takes effect at once in that process and within the cache's lifetime in every
other one.

The answer is never written into a credential: an OCI access token issued to an
anonymous client carries no grants, and each request asks again (an access token
lives for minutes; turning anonymous pull off must stop it at once).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.auth import queries
from registry.cache import TTLCache


class AnonymousPull:
    """namespace -> whether it serves pulls without credentials, cached for ``ttl`` seconds.

    A hit costs no database session, so anonymous pulls take the same fast path
    as authenticated ones; an unknown namespace is cached as private.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], ttl: float) -> None:
        self._sessionmaker = sessionmaker
        self._cache = TTLCache[str, bool](ttl)

    async def allowed(self, namespace: str) -> bool:
        cached = self._cache.get(namespace)
        if cached is not None:
            return cached
        async with self._sessionmaker() as session:
            value = await queries.anonymous_pull(session, namespace)
        allowed = bool(value)
        self._cache.put(namespace, allowed)
        return allowed

    def forget(self, namespace: str) -> None:
        self._cache.discard(namespace)
