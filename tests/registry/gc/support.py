"""An in-process registry for garbage-collection tests: the app, an async /v2/ client and
a collector sharing one event loop (so pushes and passes really interleave)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from registry import create_app
from registry.db.models import Blob, GcReview
from registry.digests import Digest
from registry.gc.collector import Collector
from registry.oci.hooks import AliasMove
from registry.services import Services, services_of
from registry.settings import Settings
from tests.support.oci_client import EMPTY, OCI_INDEX, OCI_MANIFEST
from tests.support.registry_helpers import bearer, sha256_digest

NAME = "acme/model"


class AllowAll:
    """A promotion gate that allows every alias move (GC tests move aliases freely)."""

    async def check(self, session: Any, move: AliasMove) -> None:
        return None


@dataclass
class Registry:
    client: httpx.AsyncClient
    services: Services

    def collector(self, delay: timedelta = timedelta(0), **kwargs: Any) -> Collector:
        return Collector(self.services.sessionmaker, self.services.blobs, delay=delay, **kwargs)

    async def push_blob(self, data: bytes, name: str = NAME) -> httpx.Response:
        return await self.client.post(
            f"/v2/{name}/blobs/uploads/?digest={sha256_digest(data)}", content=data
        )

    async def head_blob(self, digest: str, name: str = NAME) -> httpx.Response:
        return await self.client.head(f"/v2/{name}/blobs/{digest}")

    async def put_manifest(
        self, reference: str, body: bytes, name: str = NAME, media_type: str = OCI_MANIFEST
    ) -> httpx.Response:
        return await self.client.put(
            f"/v2/{name}/manifests/{reference}", content=body, headers={"Content-Type": media_type}
        )

    async def reviews(self) -> list[tuple[str, str, str]]:
        async with self.services.sessionmaker() as session:
            rows = (await session.scalars(select(GcReview).order_by(GcReview.id))).all()
        return [(r.kind, r.digest, r.reason) for r in rows]

    async def blob_present(self, digest: str) -> tuple[bool, bool]:
        """(row, object) present."""
        async with self.services.sessionmaker() as session:
            row = await session.get(Blob, digest) is not None
        stored = await self.services.blobs.stat(Digest.parse(digest)) is not None
        return row, stored


def descriptor(data: bytes, media_type: str = "application/vnd.cncf.model.weight.v1.raw") -> dict:
    return {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}


def manifest(
    layers: list[bytes],
    *,
    subject: bytes | None = None,
    artifact_type: str | None = None,
    config: bytes = b"{}",
) -> bytes:
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config, EMPTY),
        "layers": [descriptor(layer) for layer in layers],
    }
    if artifact_type:
        document["artifactType"] = artifact_type
    if subject is not None:
        document["subject"] = descriptor(subject, OCI_MANIFEST)
    return json.dumps(document, separators=(",", ":")).encode()


def index(children: list[bytes]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [descriptor(c, OCI_MANIFEST) for c in children],
        }
    ).encode()


@asynccontextmanager
async def registry(settings: Settings, token: str) -> AsyncIterator[Registry]:
    app = create_app(settings, gate=AllowAll())
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=bearer(token), timeout=60
        ) as client:
            yield Registry(client, services_of(app))
