"""The registry's long-lived services, in one typed object built by ``create_app``.

Handlers receive it through dependency injection (a ``services: AppServices``
parameter, see ``registry.http.deps``); middleware, exception handlers and the
``/v2/`` hot path read it with :func:`services_of`. It lives in a single slot of
the application state, written once by the lifespan: no other code reads the
application state.

The slices' types are imported for type checking only, so every slice can import
this module without an import cycle (nothing here runs their code).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from registry.auth import Principal
    from registry.auth.anonymous import AnonymousPull
    from registry.cache import CachedManifest, TTLCache
    from registry.http.metrics import Metrics
    from registry.hub.config import Hub
    from registry.limits import RateLimits
    from registry.naming import VersionPattern
    from registry.oci.hooks import OciHooks
    from registry.policies_in_force import PolicyHolder
    from registry.settings import Settings
    from registry.storage import BlobStore
    from registry.tlog import TransparencyLog
    from registry.tuf.service import TufService

_SLOT = "services"


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request may need beyond its own input, built once per application."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    #: The trust and admission policies in force (reloaded on SIGHUP).
    policies: PolicyHolder
    #: What the OCI store asks and tells the slices above it (promotion gate, admission,
    #: SBOM ingest, signature verification, TUF marks); see registry.oci.hooks.
    oci_hooks: OciHooks
    versions: VersionPattern
    metrics: Metrics
    hub: Hub
    tlog: TransparencyLog
    tuf: TufService
    #: Verified credentials, keyed by the hash of the Authorization header.
    auth_cache: TTLCache[str, Principal]
    #: Manifests looked up by tag, keyed by (repository, tag).
    manifest_cache: TTLCache[tuple[str, str], CachedManifest]
    #: Sizes of blobs known to be linked, keyed by (repository, digest).
    blob_cache: TTLCache[tuple[str, str], int]
    anonymous_pull: AnonymousPull
    #: Rate limits per token and address, failed-authentication blocks, download budgets.
    limits: RateLimits


def install_services(app: Litestar, services: Services) -> None:
    """Put ``services`` in the application's one slot (the lifespan does, at start)."""
    app.state[_SLOT] = services


def services_of(app: Litestar) -> Services:
    """The application's services; an error outside its lifespan (they are not built yet)."""
    services = app.state.get(_SLOT)
    if not isinstance(services, Services):
        raise RuntimeError("the registry's services exist once its lifespan has started")
    return services
