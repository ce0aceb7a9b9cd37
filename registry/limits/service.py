"""The registry's rate limits, counted by the ``limits`` library in memory or in Redis.

Why ``limits`` and not Litestar's ``RateLimitMiddleware``: the middleware keeps each
caller's whole history as a JSON list that it reads and writes back on every request
(two store round trips, and a list as long as the limit: 10,000 timestamps at 10,000
requests per second), under a lock that only holds inside one process, so two replicas
sharing one Redis lose each other's counts between the read and the write. It takes one
limit per middleware, keyed before the handler runs, so it cannot key on the token id
that authentication finds, cannot count only the attempts that *failed* to authenticate,
and cannot charge a download by its bytes; and it answers without ``Retry-After``.
``limits`` increments atomically in the store (one Redis round trip per hit), charges a
``cost`` (bytes), and gives memory and Redis storage behind one interface.

Who is counted: an API token (with the OCI access tokens made from it) by its public
id, never its secret; everyone else (anonymous callers, credentials that fail) by client
address, the way large registries and APIs split it (an identity is better than an
address behind NAT, and costs an attacker a valid token). One counter is hit per
request, so a request costs one store round trip. Reads (GET, HEAD, OPTIONS) and writes
are counted apart.

Strategies: requests, failed authentications and the download budget use the sliding
window counter (two counters per key, O(1) in memory and in Redis, and no double burst
at a window's edge as a fixed window allows); the block after too many failures is a
fixed window of one, which lapses exactly ``auth_block_seconds`` after it was set.
The address is the ASGI client address: behind a proxy, let the server rewrite it
from ``X-Forwarded-For`` for trusted proxies only (uvicorn's ``--forwarded-allow-ips``).
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.errors import StorageError

from registry.errors import LimitStoreUnavailable, TooManyRequests

if TYPE_CHECKING:
    from limits.aio.storage import Storage

    from registry.settings import LimitSettings

#: Methods counted as reads; every other method is a write.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_NAMESPACE = "custody"


def open_store(settings: LimitSettings) -> Storage:
    """The counters' store the settings name: this process's memory, or Redis."""
    if settings.store == "memory":
        return MemoryStorage()
    # redis-py (already the Redis client of the Python world) rather than coredis.
    return RedisStorage(
        f"async+{settings.store}",
        implementation="redispy",
        key_prefix=settings.key_prefix,
        wrap_exceptions=True,
        socket_timeout=2,
        socket_connect_timeout=2,
    )


def _per(amount: int, seconds: int) -> RateLimitItem | None:
    return RateLimitItemPerSecond(amount, seconds, namespace=_NAMESPACE) if amount > 0 else None


class RateLimits:
    """Every limit of one application, over one store (shared by replicas when Redis).

    Each check raises :class:`TooManyRequests` (429 with ``Retry-After``) when a limit is
    spent, and :class:`LimitStoreUnavailable` (503) when the store does not answer: a
    limit that cannot be counted refuses rather than lets everything through.
    """

    def __init__(self, settings: LimitSettings, store: Storage | None = None) -> None:
        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        self._sliding = SlidingWindowCounterRateLimiter(self.store)
        self._fixed = FixedWindowRateLimiter(self.store)
        s = settings
        self._token = (_per(s.token_reads_per_second, 1), _per(s.token_writes_per_second, 1))
        self._address = (_per(s.address_reads_per_second, 1), _per(s.address_writes_per_second, 1))
        self._failures = _per(s.auth_failures, s.auth_failure_window_seconds)
        self._block = _per(1, s.auth_block_seconds) if s.auth_failures else None
        self._download = _per(s.download_bytes, s.download_period_seconds)

    async def admit(self, method: str, *, token_id: str | None, address: str) -> None:
        """Count one request: against its API token if it has one, else its address."""
        write = method not in READ_METHODS
        kind = "writes" if write else "reads"
        if token_id is not None:
            item, key = self._token[write], ("token", token_id)
            who = f"token {token_id}"
        else:
            item, key = self._address[write], ("address", address)
            who = f"address {address}"
        if item is None:
            return
        if not await self._hit(self._sliding, item, key):
            retry = await self._retry_after(self._sliding, item, key)
            raise TooManyRequests(
                f"{who} made more than {item.amount} {kind} per second; retry in {retry} s",
                retry_after=retry,
                extra={"limit": f"{kind} per second", "allowed": item.amount},
            )

    async def refuse_if_blocked(self, address: str) -> None:
        """Refuse credentials from an address blocked for failing to authenticate."""
        if self._block is None:
            return
        key = ("blocked", address)
        if not await self._test(self._fixed, self._block, key):
            retry = await self._retry_after(self._fixed, self._block, key)
            raise TooManyRequests(
                f"address {address} failed to authenticate too often: no credentials are "
                f"checked from it for {retry} s",
                retry_after=retry,
                extra={"limit": "failed authentications", "allowed": self.settings.auth_failures},
            )

    async def auth_failed(self, address: str) -> None:
        """Count a failed authentication; one too many blocks the address."""
        if self._failures is None or self._block is None:
            return
        if not await self._hit(self._sliding, self._failures, ("failures", address)):
            await self._hit(self._fixed, self._block, ("blocked", address))

    async def charge_download(self, nbytes: int, *, token_id: str | None, address: str) -> None:
        """Charge ``nbytes`` of blob to the caller's download budget, before sending them.

        Charged whole, up front: a download cut short still counts (a resumed one asks
        for the rest with ``Range`` and is charged only that). Anonymous pulls are
        charged to the address. A blob larger than the whole budget is never served.
        """
        item = self._download
        if item is None or nbytes <= 0:
            return
        key = ("download", token_id) if token_id is not None else ("download-address", address)
        if not await self._hit(self._sliding, item, key, cost=nbytes):
            retry = await self._retry_after(self._sliding, item, key)
            who = f"token {token_id}" if token_id is not None else f"address {address}"
            raise TooManyRequests(
                f"{who} has spent its download budget ({item.amount} bytes per "
                f"{self.settings.download_period_seconds} s; this blob needs {nbytes}); "
                f"retry in {retry} s",
                retry_after=retry,
                extra={"limit": "download bytes", "allowed": item.amount, "asked": nbytes},
            )

    async def check(self) -> bool:
        """Whether the store answers (for the start-up log)."""
        try:
            return bool(await self.store.check())
        except Exception:  # noqa: BLE001 - any failure means "does not answer"
            return False

    async def close(self) -> None:
        """Let go of the store's connections (Redis); the memory store holds none."""
        if isinstance(self.store, RedisStorage):
            await self.store.bridge.storage.aclose()  # type: ignore[attr-defined]

    async def _hit(
        self,
        strategy: SlidingWindowCounterRateLimiter | FixedWindowRateLimiter,
        item: RateLimitItem,
        key: tuple[str, str],
        cost: int = 1,
    ) -> bool:
        try:
            return await strategy.hit(item, *key, cost=cost)
        except StorageError as exc:
            raise _unavailable(exc) from exc

    async def _test(
        self,
        strategy: SlidingWindowCounterRateLimiter | FixedWindowRateLimiter,
        item: RateLimitItem,
        key: tuple[str, str],
    ) -> bool:
        try:
            return await strategy.test(item, *key)
        except StorageError as exc:
            raise _unavailable(exc) from exc

    async def _retry_after(
        self,
        strategy: SlidingWindowCounterRateLimiter | FixedWindowRateLimiter,
        item: RateLimitItem,
        key: tuple[str, str],
    ) -> int:
        """Whole seconds until the limit lets one more through (at least 1)."""
        try:
            stats = await strategy.get_window_stats(item, *key)
        except StorageError as exc:
            raise _unavailable(exc) from exc
        return max(1, math.ceil(stats.reset_time - time.time()))


def _unavailable(exc: StorageError) -> LimitStoreUnavailable:
    return LimitStoreUnavailable(
        f"the rate-limit store did not answer ({type(exc.storage_error).__name__}); retry later"
    )
