"""Attach an SBOM to a version: the referrer an OCI client would push, built for the caller.

No HTTP here: :mod:`registry.sbom.api` reads the request and answers; this checks the
BOM, stores its bytes and the referrer manifest, and records the SBOM, in the caller's
transaction (the caller commits).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import Manifest, Repository, Sbom
from registry.digests import Digest
from registry.oci import mediatypes as mt
from registry.oci import queries as oci_queries
from registry.oci import service as oci_service
from registry.oci.manifests import parse_manifest
from registry.sbom.ingest import CYCLONEDX_JSON, analyse, record_sbom
from registry.storage import BlobStore

__all__ = ["attach_sbom"]


async def _put_bytes(blobs: BlobStore, data: bytes) -> Digest:
    async def once() -> AsyncIterator[bytes]:
        yield data

    stat = await blobs.put(once(), expected=Digest.of_bytes(data))
    return stat.digest


def _referrer_document(subject: Manifest, sbom_digest: Digest, size: int, empty: Digest) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": CYCLONEDX_JSON,
        "config": {"mediaType": mt.OCI_EMPTY, "digest": str(empty), "size": 2},
        "layers": [
            {
                "mediaType": CYCLONEDX_JSON,
                "digest": str(sbom_digest),
                "size": size,
                "annotations": {mt.TITLE_ANNOTATION: "sbom.cdx.json"},
            }
        ],
        "subject": {
            "mediaType": subject.media_type,
            "digest": subject.digest,
            "size": subject.size,
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


async def attach_sbom(
    session: AsyncSession,
    blobs: BlobStore,
    *,
    repository: Repository,
    subject: Manifest,
    data: bytes,
    limit: int,
    actor: str,
) -> tuple[Sbom, Manifest]:
    """Check ``data`` against ``subject`` and store it as ``subject``'s SBOM referrer.

    Returns the SBOM and its referrer manifest; attaching the same BOM again returns
    the SBOM recorded the first time.
    """
    # Check everything before storing anything.
    analysis = await analyse(session, subject, data, limit)

    sbom_digest = await _put_bytes(blobs, data)
    empty = await _put_bytes(blobs, b"{}")
    await oci_queries.link_blob(session, repository, str(sbom_digest), len(data))
    await oci_queries.link_blob(session, repository, str(empty), 2)
    body = _referrer_document(subject, sbom_digest, len(data), empty)
    referrer, _created = await oci_service.store_manifest(
        session,
        repository,
        digest="sha256:" + hashlib.sha256(body).hexdigest(),
        body=body,
        parsed=parse_manifest(body, mt.OCI_MANIFEST),
        actor=actor,
    )
    existing = await session.scalar(select(Sbom).where(Sbom.referrer_manifest_id == referrer.id))
    sbom = existing or await record_sbom(
        session,
        analysis,
        repository=repository,
        subject=subject,
        referrer=referrer,
        blob_digest=str(sbom_digest),
        actor=actor,
    )
    return sbom, referrer
