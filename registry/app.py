"""The Litestar application factory.

``create_app(settings)`` wires everything from explicit settings: nothing is
read from the environment at import, so tests build as many apps as they like.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.auth import Principal
from registry.auth.anonymous import AnonymousPull
from registry.auth.api import TokenController
from registry.auth.deps import provide_principal
from registry.cache import CachedManifest, TTLCache
from registry.db.engine import create_service_engine
from registry.errors import RefusalNotAudited
from registry.gc.collector import Collected, Collector
from registry.gc.hooks import GcQueue
from registry.gc.uploads import expire_uploads_forever
from registry.gc.worker import GcWorker
from registry.http.deps import (
    provide_blobs,
    provide_db_session,
    provide_services,
    provide_settings,
)
from registry.http.docs import docs_asset, render_plugins
from registry.http.health import healthz, readyz
from registry.http.metrics import Metrics, count_unaudited_refusal, metrics_endpoint
from registry.http.openapi import openapi_config
from registry.http.problems import EXCEPTION_HANDLERS
from registry.http.text import CheckedRequest, refuse_invalid_text
from registry.hub.api import HubController
from registry.hub.config import build_hub
from registry.lifecycle.api import ModelController
from registry.lifecycle.promotion_check import PromotionCheckController
from registry.limits import RateLimits
from registry.limits.middleware import rate_limited
from registry.namespaces.api import NamespaceController
from registry.namespaces.audit_api import read_audit
from registry.naming import VersionPattern
from registry.oci.hooks import OciHooks, PromotionGate
from registry.oci.quota import usage_by_namespace
from registry.oci.routes import oci_router
from registry.policies_in_force import PolicyHolder
from registry.policies_in_force.api import PolicyController, install_reload_signal
from registry.sbom.api import SbomController
from registry.sbom.ingest import SbomReferrers
from registry.services import Services, install_services, services_of
from registry.settings import Settings
from registry.storage import FilesystemBlobStore, open_blob_store
from registry.tlog import TransparencyLog, load_or_create_signer
from registry.tlog.api import LogController
from registry.tuf import TufMarks
from registry.tuf.http import tuf_metadata
from registry.tuf.service import TufService
from registry.verification.gate import PolicyGate
from registry.verification.hooks import PolicyHooks
from registry.web import template_config, unrouted, web_handlers
from signing.version import __version__

if TYPE_CHECKING:
    from registry.storage.s3 import S3BlobStore  # boto3 loads only when S3 is chosen

log = logging.getLogger("registry")


def policies_in_force(settings: Settings, policies: PolicyHolder) -> str:
    """One start-up line: which policy files are in force (with digests), which are off."""
    current = policies.current
    trust = (
        f"trust {settings.policies.trust} ({current.trust_digest})"
        if settings.policies.trust
        else "trust none (no signer is trusted: every signature fails verification)"
    )
    admission = (
        f"admission {settings.policies.admission} ({current.admission_digest})"
        if settings.policies.admission
        else "admission default (pickle formats refused, no SBOM required)"
    )
    reprint = (
        f"reprint {settings.hub.reprint_policy}"
        if settings.hub.reprint_policy
        else "reprint none (the reprint hub is off)"
    )
    return f"policies: {trust}; {admission}; {reprint}"


def open_configured_blob_store(settings: Settings) -> FilesystemBlobStore | S3BlobStore:
    """The blob store ``settings`` name (``CUSTODY_STORAGE`` and the ``CUSTODY_S3_*`` settings)."""
    storage = settings.storage
    return open_blob_store(
        settings.blob_location,
        endpoint_url=storage.s3_endpoint_url,
        access_key_id=storage.s3_access_key_id,
        secret_access_key=storage.s3_secret_access_key,
        region=storage.s3_region,
        min_free_bytes=storage.min_free_bytes,
    )


def create_app(settings: Settings | None = None, *, gate: PromotionGate | None = None) -> Litestar:
    """Build the registry application from ``settings`` (environment if omitted).

    ``gate`` checks every alias move; the default is the policy gate over the
    trust and admission policies (``CUSTODY_TRUST_POLICY``, ``CUSTODY_ADMISSION_POLICY``).
    """
    settings = settings or Settings.from_env()
    # Policies load before anything starts: a broken file is a start-up error, raised
    # here as one ConfigurationError (naming file and line), not from inside the server.
    policies = PolicyHolder(settings.policies.trust, settings.policies.admission)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    hub = build_hub(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        engine = create_service_engine(
            settings.effective_database_url, echo=settings.database.echo_sql
        )
        blobs = open_configured_blob_store(settings)
        log.info("%s", settings.storage.describe(settings.blob_location))
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        gc_delay = timedelta(seconds=settings.gc.delay_seconds)
        policy_hooks = PolicyHooks(policies, blobs)
        # What the OCI store asks and tells the slices above it (registry.oci.hooks).
        oci_hooks = OciHooks(
            gate=gate or PolicyGate(policies, blobs),
            admission=policy_hooks,
            alias_read=policy_hooks,
            on_stored=(SbomReferrers(blobs, limit=settings.oci.max_sbom_bytes), policy_hooks),
            on_tags_changed=(TufMarks(),),
            on_references_dropped=(GcQueue(gc_delay),),
        )
        log.info("%s", policies_in_force(settings, policies))
        manifest_cache = TTLCache[tuple[str, str], CachedManifest](
            settings.oci.manifest_cache_seconds
        )
        install_reload_signal(policies, manifest_cache.clear)
        tlog = TransparencyLog(
            sessionmaker,
            load_or_create_signer(settings.effective_tlog_key, settings.log.origin),
            max_entry_bytes=settings.log.max_entry_bytes,
            max_batch=settings.log.max_batch,
        )
        limits = RateLimits(settings.limits)
        log.info("%s", settings.limits.describe())
        if not await limits.check():
            log.warning("the rate-limit store does not answer: limited requests get 503")
        install_services(
            app,
            Services(
                settings=settings,
                engine=engine,
                sessionmaker=sessionmaker,
                blobs=blobs,
                policies=policies,
                oci_hooks=oci_hooks,
                versions=VersionPattern(settings.oci.version_pattern),
                metrics=metrics,
                hub=hub,
                tlog=tlog,
                tuf=TufService(settings, sessionmaker),
                auth_cache=TTLCache[str, Principal](settings.auth.cache_seconds),
                manifest_cache=manifest_cache,
                blob_cache=TTLCache[tuple[str, str], int](settings.oci.manifest_cache_seconds),
                anonymous_pull=AnonymousPull(sessionmaker, settings.auth.cache_seconds),
                limits=limits,
            ),
        )
        blob_cache = services_of(app).blob_cache

        def collected(items: Sequence[Collected]) -> None:
            for item in items:
                metrics.count_collected(item.kind, item.size)
            blob_cache.clear()  # a cached HEAD must not outlive the blob

        gc_worker = GcWorker(
            Collector(
                sessionmaker,
                blobs,
                delay=gc_delay,
                collect_untagged=settings.gc.collect_untagged,
                on_collected=collected,
            ),
            settings.gc.interval_seconds,
        )
        await tlog.start()
        if settings.gc.enabled:
            gc_worker.start()
        # Abandoned uploads (rows and bytes) expire now and every CUSTODY_UPLOAD_SWEEP_SECONDS.
        upload_expiry = asyncio.create_task(
            expire_uploads_forever(
                sessionmaker,
                blobs,
                older_than=timedelta(seconds=settings.oci.upload_expiry_seconds),
                interval=settings.oci.upload_sweep_seconds,
            ),
            name="upload-expiry",
        )
        try:
            yield
        finally:
            upload_expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upload_expiry
            await gc_worker.close()
            await tlog.close()
            await limits.close()
            await engine.dispose()
            blobs.close()

    # Storage per namespace on each scrape, from the OCI store's accounting.
    metrics = Metrics(storage=usage_by_namespace)

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            metrics_endpoint,
            TokenController,
            NamespaceController,
            read_audit,
            ModelController,
            SbomController,
            PolicyController,
            PromotionCheckController,
            LogController,
            HubController,
            oci_router(),
            tuf_metadata,
            docs_asset,
            *web_handlers(),  # the pages under /ui (ADR 0013), not in the OpenAPI document
        ],
        dependencies={
            "db_session": Provide(provide_db_session),
            "principal": Provide(provide_principal),
            "blobs": Provide(provide_blobs, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "services": Provide(provide_services, sync_to_thread=False),
        },
        signature_namespace={"AsyncSession": AsyncSession},
        exception_handlers={
            **EXCEPTION_HANDLERS,
            RefusalNotAudited: count_unaudited_refusal,
            NotFoundException: unrouted,  # a 404 page under /ui, unchanged elsewhere
        },
        # Text first: the rate limits read the Authorization header it has checked.
        middleware=[
            metrics.middleware,
            refuse_invalid_text,
            *([rate_limited] if settings.limits.limits_requests else []),
        ],
        request_class=CheckedRequest,
        lifespan=[lifespan],
        template_config=template_config(),
        openapi_config=openapi_config(__version__, render_plugins()),
        request_max_body_size=settings.http.max_api_body_bytes,
        debug=False,
    )
