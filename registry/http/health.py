"""Liveness (``/healthz``) and readiness (``/readyz``) probes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Response, get
from sqlalchemy import text

from registry.db.migrate import head_revision
from registry.http.deps import AppServices

log = logging.getLogger(__name__)


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is up and answering."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(services: AppServices) -> Response[dict[str, Any]]:
    """The database answers (at the expected schema) and the blob store can serve: a
    directory is writable, with at least ``CUSTODY_MIN_FREE_BYTES`` free (a full disk
    fails pushes with 507); an S3 bucket answers a HEAD request."""
    checks: dict[str, str] = {}
    try:
        async with services.engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=5)
            current = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
        expected = head_revision()
        checks["database"] = (
            "ok" if current == expected else f"schema at {current}, expected {expected}"
        )
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        log.warning("readiness: database check failed: %s", exc)
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        await asyncio.wait_for(services.blobs.ping(), timeout=5)
        checks["blobs"] = "ok"
    except OSError as exc:  # the filesystem store: unwritable, or below the free-space floor
        checks["blobs"] = f"unavailable: {exc}"
    except Exception as exc:  # noqa: BLE001 - e.g. S3 unreachable, or no such bucket
        log.warning("readiness: blob store check failed: %s", exc)
        checks["blobs"] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return Response(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
