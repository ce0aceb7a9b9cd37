"""Whether a model version is registered here and its signature verifies: the hub's one seam
to the registry's signature verification (:mod:`registry.verification.status`).

The hub asks this for the root of every latent chain at registration and again
for every attribution view (a signature that verified at registration may not
verify under today's trust policy).

Answers are cached per (version, trust policy digest) for
``CUSTODY_AUTH_CACHE_SECONDS`` (5 s): re-deciding a version costs ~10 ms, a
burst of registrations from one model asks the same question each time, and a
new trust policy changes the key, so a policy reload is seen at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from registry.cache import TTLCache
from registry.policies_in_force import PolicySet
from registry.services import Services
from registry.verification.status import SignatureVerdict, signature_status


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """``registered``: the digest is a version manifest of that repository;
    ``verified``: at least one of its signatures verifies under today's trust policy."""

    registered: bool
    verified: bool
    signers: list[str] = field(default_factory=list)
    #: The version tag naming the digest (``1.4.0``), when registered.
    version: str | None = None
    #: Each signature's verdict under today's trust policy (empty: unsigned).
    verdicts: list[SignatureVerdict] = field(default_factory=list)


StatusCache = TTLCache[tuple[str, str, str], ModelStatus]


async def model_status(
    session: AsyncSession, services: Services, repository: str, manifest_digest: str
) -> ModelStatus:
    """The registration and signature status of ``repository@manifest_digest``.

    Verdicts reached under an older trust policy are re-verified under the one in
    force (the app's policies and blob store are passed on for that).
    """
    policies: PolicySet = services.policies.current
    cache = services.hub.status_cache
    key = (repository, manifest_digest, policies.trust_digest)
    cached = cache.get(key)
    if cached is not None:
        return cached
    status = await signature_status(
        session, repository, manifest_digest, policies=policies, blobs=services.blobs
    )
    answer = ModelStatus(
        registered=bool(status.registered),
        verified=bool(status.registered and status.verified),
        signers=list(status.signers),
        version=status.version,
        verdicts=list(status.verdicts),
    )
    cache.put(key, answer)
    return answer
