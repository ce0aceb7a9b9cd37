"""Prometheus metrics: request counts and latency histograms, labelled by route template.

A small ASGI middleware rather than Litestar's Prometheus plugin: the plugin's
per-request label bookkeeping cost about a fifth of a cached manifest GET
(measured with ``python -m bench manifest``). Labels are the route template
(``/v2/{rest:path}``), never the raw path, so cardinality stays bounded.

Storage per namespace (``custody_namespace_storage_bytes``, ``custody_namespace_quota_bytes``)
is read on each scrape, with one query, from the source :func:`registry.app.create_app`
wires in (:func:`registry.oci.quota.usage_by_namespace`: this layer sits below the OCI
store and does not import it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from litestar import Request, Response, get
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import RefusalNotAudited
from registry.http.deps import AppServices
from registry.http.problems import handle_registry_error
from registry.services import services_of

log = logging.getLogger("registry.metrics")


class NamespaceStorage(Protocol):
    """One namespace's storage, as the scrape reads it."""

    @property
    def namespace(self) -> str: ...
    @property
    def used_bytes(self) -> int: ...
    @property
    def quota_bytes(self) -> int | None: ...


StorageSource = Callable[[AsyncSession], Awaitable[Iterable[NamespaceStorage]]]


class Metrics:
    """One registry per app, so tests can build many apps in one process."""

    def __init__(self, storage: StorageSource | None = None) -> None:
        self.registry = CollectorRegistry()
        self.storage_source = storage
        self.storage_bytes = Gauge(
            "custody_namespace_storage_bytes",
            "Bytes a namespace stores: distinct blobs linked into its repositories, once each, "
            "plus its manifests",
            ["namespace"],
            registry=self.registry,
        )
        self.quota_bytes = Gauge(
            "custody_namespace_quota_bytes",
            "A namespace's storage quota (namespaces without a quota are not listed)",
            ["namespace"],
            registry=self.registry,
        )
        self.requests = Counter(
            "custody_requests",
            "HTTP requests handled",
            ["method", "path", "status_code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "custody_request_duration_seconds",
            "HTTP request latency",
            ["method", "path"],
            registry=self.registry,
        )
        self.unaudited_refusals = Counter(
            "custody_refusals_unaudited",
            "Refusals answered 503 because their audit event could not be written",
            ["action"],
            registry=self.registry,
        )
        self.gc_blobs = Counter(
            "custody_gc_collected_blobs",
            "Blobs removed by garbage collection",
            registry=self.registry,
        )
        self.gc_bytes = Counter(
            "custody_gc_collected_bytes",
            "Bytes of blobs removed by garbage collection",
            registry=self.registry,
        )
        self.gc_manifests = Counter(
            "custody_gc_collected_manifests",
            "Manifests removed by garbage collection",
            registry=self.registry,
        )
        self.in_progress = 0

    def count_collected(self, kind: str, size: int) -> None:
        """One blob or manifest removed by garbage collection (registry.gc)."""
        if kind == "blob":
            self.gc_blobs.inc()
            self.gc_bytes.inc(size)
        else:
            self.gc_manifests.inc()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def measured(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            start = time.perf_counter()
            status = 500

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, capture)
            finally:
                handler = scope.get("route_handler")
                paths = getattr(handler, "paths", None)
                path = next(iter(paths)) if paths else "unmatched"
                method = scope.get("method", "")
                self.requests.labels(method, path, str(status)).inc()
                self.duration.labels(method, path).observe(time.perf_counter() - start)

        return measured

    async def refresh_storage(self, session: AsyncSession) -> None:
        """Set the storage gauges from the source (namespaces gone since drop out)."""
        if self.storage_source is None:
            return
        rows = list(await self.storage_source(session))
        self.storage_bytes.clear()
        self.quota_bytes.clear()
        for row in rows:
            self.storage_bytes.labels(row.namespace).set(row.used_bytes)
            if row.quota_bytes is not None:
                self.quota_bytes.labels(row.namespace).set(row.quota_bytes)


def count_unaudited_refusal(
    request: Request[Any, Any, Any], exc: RefusalNotAudited
) -> Response[Any]:
    """Count a refusal that could not be audited, then answer it (503) as usual."""
    metrics = services_of(request.app).metrics
    metrics.unaudited_refusals.labels(exc.action).inc()
    return handle_registry_error(request, exc)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint(services: AppServices) -> Response[bytes]:
    try:
        async with services.sessionmaker() as session:
            await services.metrics.refresh_storage(session)
    except (SQLAlchemyError, OSError) as exc:  # the request metrics are still worth serving
        log.warning("storage metrics not refreshed: %s: %s", type(exc).__name__, exc)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
