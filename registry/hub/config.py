"""The hub's start-up state: reprint policy, C2PA trust anchors, signing key, limits.

Built once in the application's lifespan from :class:`~registry.settings.Settings`.
An invalid policy or anchor file stops the registry from starting (a hub that
silently trusted nothing, or everything, would be worse). With no policy
configured the hub is off and its endpoints answer 503.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.errors import ConfigurationError
from registry.hub.attestation import HubSigner
from registry.hub.errors import HubUnavailable
from registry.hub.intake import Limits
from registry.hub.ledger import Ledger
from registry.hub.model_status import StatusCache
from registry.services import Services
from registry.settings import Settings
from verifier.provenance.errors import ReprintPolicyInvalid
from verifier.provenance.reprint_policy import ReprintPolicy, load_reprint_policy

#: JSON parts (output manifest, latent chain, reprint request): a 30-step chain is ~60 KiB.
FIELD_LIMIT_BYTES = 2 * 1024 * 1024
_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True, slots=True)
class Hub:
    policy: ReprintPolicy | None
    trust_anchors_pem: bytes | None
    signer: HubSigner
    limits: Limits
    status_cache: StatusCache

    def require_policy(self) -> ReprintPolicy:
        if self.policy is None:
            raise HubUnavailable("the reprint hub is off: CUSTODY_REPRINT_POLICY is not set")
        return self.policy


def build_hub(settings: Settings) -> Hub:
    policy = None
    if settings.hub.reprint_policy is not None:
        try:
            policy = load_reprint_policy(settings.hub.reprint_policy)
        except ReprintPolicyInvalid as exc:
            raise ConfigurationError(f"CUSTODY_REPRINT_POLICY: {exc.diagnostics()}") from exc
    anchors = None
    if settings.hub.c2pa_trust_anchors is not None:
        try:
            anchors = settings.hub.c2pa_trust_anchors.read_bytes()
        except OSError as exc:
            raise ConfigurationError(
                f"CUSTODY_C2PA_TRUST_ANCHORS: cannot read {settings.hub.c2pa_trust_anchors}: "
                f"{exc.strerror}"
            ) from exc
        if _PEM_CERTIFICATE not in anchors:
            raise ConfigurationError(
                "CUSTODY_C2PA_TRUST_ANCHORS must be a PEM bundle of CA certificates"
            )
    return Hub(
        policy=policy,
        trust_anchors_pem=anchors,
        signer=HubSigner.load_or_create(settings.effective_hub_key),
        limits=Limits(image_bytes=settings.hub.max_image_bytes, field_bytes=FIELD_LIMIT_BYTES),
        status_cache=StatusCache(settings.auth.cache_seconds),
    )


def ledger_of(services: Services) -> Ledger:
    return Ledger(services.tlog)
