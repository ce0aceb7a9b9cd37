"""Whether a model version is registered here and its signature verifies: the hub's one seam
to the registry's signature verification (``registry.verification.status``).

The hub asks this for the root of every latent chain at registration and again
for every attribution view (a signature that verified at registration may not
verify under today's trust policy). If the verification module is absent from
this build, no version counts as verified: the hub fails closed.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

from sqlalchemy.ext.asyncio import AsyncSession

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


StatusFunction = Callable[[AsyncSession, str, str], Awaitable[_Status]]


def _load() -> StatusFunction | None:
    try:
        module = importlib.import_module("registry.verification.status")
    except ImportError:
        log.warning("registry.verification.status is missing: no model version counts as verified")
        return None
    return cast(StatusFunction, module.signature_status)


async def model_status(session: AsyncSession, repository: str, manifest_digest: str) -> ModelStatus:
    """The registration and signature status of ``repository@manifest_digest``."""
    function = _load()
    if function is None:
        return ModelStatus(registered=False, verified=False)
    status = await function(session, repository, manifest_digest)
    return ModelStatus(
        registered=bool(status.registered),
        verified=bool(status.registered and status.verified),
        signers=list(status.signers),
    )
