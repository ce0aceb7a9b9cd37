"""Whether a model version is registered here and its signature verifies: the hub's one seam
to the registry's signature verification (``registry.verification.status``).

The hub asks this for the root of every latent chain at registration and again
for every attribution view (a signature that verified at registration may not
verify under today's trust policy). If the verification module is absent from
this build, no version counts as verified: the hub fails closed.

Answers are cached per (version, trust policy digest) for
``CUSTODY_AUTH_CACHE_SECONDS`` (5 s): re-deciding a version costs ~10 ms, a
burst of registrations from one model asks the same question each time, and a
new trust policy changes the key, so a policy reload is seen at once.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from registry.cache import TTLCache

log = logging.getLogger(__name__)


class _Status(Protocol):
    registered: bool
    verified: bool
    signers: list[str]


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """``registered``: the digest is a version manifest of that repository;
    ``verified``: at least one of its signatures verifies under today's trust policy."""

    registered: bool
    verified: bool
    signers: list[str] = field(default_factory=list)
    #: The version tag naming the digest (``1.4.0``), when registered.
    version: str | None = None


StatusFunction = Callable[..., Awaitable[_Status]]
StatusCache = TTLCache[tuple[str, str, str], ModelStatus]


def _load() -> StatusFunction | None:
    try:
        module = importlib.import_module("registry.verification.status")
    except ImportError:
        log.warning("registry.verification.status is missing: no model version counts as verified")
        return None
    return cast(StatusFunction, module.signature_status)


async def model_status(
    session: AsyncSession, state: State, repository: str, manifest_digest: str
) -> ModelStatus:
    """The registration and signature status of ``repository@manifest_digest``.

    Verdicts reached under an older trust policy are re-verified under the one in
    force (the app's policies and blob store are passed on for that).
    """
    function = _load()
    if function is None:
        return ModelStatus(registered=False, verified=False)
    context: dict[str, Any] = {}
    holder = getattr(state, "policies", None)
    if holder is not None:
        context = {"policies": holder.current, "blobs": state.blobs}
    hub = getattr(state, "hub", None)
    cache: StatusCache | None = hub.status_cache if hub is not None else None
    key = (repository, manifest_digest, str(getattr(context.get("policies"), "trust_digest", "")))
    cached = cache.get(key) if cache is not None else None
    if cached is not None:
        return cached
    status = await function(session, repository, manifest_digest, **context)
    answer = ModelStatus(
        registered=bool(status.registered),
        verified=bool(status.registered and status.verified),
        signers=list(status.signers),
        version=getattr(status, "version", None),
    )
    if cache is not None:
        cache.put(key, answer)
    return answer
