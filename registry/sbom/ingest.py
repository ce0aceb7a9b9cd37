"""Ingest a CycloneDX ML-BOM for a version, whichever way it arrives.

An SBOM arrives as an OCI referrer (artifactType ``application/vnd.cyclonedx+json``
with ``subject`` = the version's manifest) or through
``POST /api/v1/models/{ns}/{model}/versions/{version}/sbom``, which builds that
same referrer. Either way the exact bytes are a content-addressed blob, and
:func:`ingest` runs the ``signing.sbom`` checks off the event loop — size, JSON,
``bomFormat``, ``specVersion``, schema, duplicate refs — then *binds* the BOM to
the version's files and stores its index as searchable facts. A BOM that fails
any check is refused with the first reason; nothing is recorded.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import record
from registry.db.models import Manifest, Repository, Sbom, SbomFact
from registry.db.types import utcnow
from registry.digests import Digest
from registry.errors import BadRequest, PayloadTooLarge
from registry.http.text import check_document
from registry.oci.manifests import ParsedManifest
from registry.oci.queries import find_manifest_by_digest, version_files
from registry.storage import BlobStore
from signing.media_types import CYCLONEDX_JSON
from signing.sbom.errors import BomTooLarge, SbomError

if TYPE_CHECKING:
    from signing.sbom import BomIndex


class SbomRejected(BadRequest):
    code = "MANIFEST_INVALID"
    title = "SBOM rejected"


async def read_blob(blobs: BlobStore, digest: str, size: int, limit: int) -> bytes:
    if size > limit:
        raise PayloadTooLarge(
            f"SBOM is {size} bytes, over the {limit}-byte limit (CUSTODY_MAX_SBOM_BYTES)"
        )
    return b"".join([chunk async for chunk in blobs.open(Digest.parse(digest))])


@dataclass(frozen=True, slots=True)
class Analysis:
    spec_version: str
    index: BomIndex
    binding: str


def _check(data: bytes, files: list[tuple[str, str]], limit: int) -> Analysis:
    # Imported here: the schema stack takes seconds to import and most processes never need it.
    from signing.sbom import BomLimits, bind_bom, index_bom, validate_bom

    bom = validate_bom(data, limits=BomLimits(max_bytes=limit))
    binding = bind_bom(bom, files)
    return Analysis(bom.spec_version, index_bom(bom), binding.method)


async def analyse(session: AsyncSession, subject: Manifest, data: bytes, limit: int) -> Analysis:
    """Validate and bind a BOM to the version ``subject``, off the event loop."""
    files = await version_files(session, subject)
    try:
        analysis = await asyncio.to_thread(_check, data, files, limit)
    except BomTooLarge as exc:
        raise PayloadTooLarge(f"{exc} (CUSTODY_MAX_SBOM_BYTES)") from None
    except SbomError as exc:
        raise SbomRejected(f"SBOM for {subject.digest} rejected: {exc}") from None
    # What is indexed becomes rows: text either engine refuses is refused on both.
    check_document(analysis.index.to_json(), f"the SBOM for {subject.digest}", SbomRejected)
    return analysis


async def record_sbom(
    session: AsyncSession,
    analysis: Analysis,
    *,
    repository: Repository,
    subject: Manifest,
    referrer: Manifest,
    blob_digest: str,
    actor: str,
) -> Sbom:
    """Store an analysed SBOM and its searchable facts, with an audit event."""
    index = analysis.index
    sbom = Sbom(
        repository_id=repository.id,
        subject_manifest_id=subject.id,
        referrer_manifest_id=referrer.id,
        blob_digest=blob_digest,
        spec_version=analysis.spec_version,
        serial_number=index.serial_number,
        binding=analysis.binding,
        summary=index.to_json(),
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(sbom)
    await session.flush()
    session.add_all(
        SbomFact(sbom_id=sbom.id, kind=kind, value=value, number=number)
        for kind, value, number in _facts(index)
    )
    await record(
        session,
        actor=actor,
        action="sbom.attach",
        subject=f"{repository.name}@{subject.digest}",
        namespace=repository.name.split("/", 1)[0],
        detail={
            "sbom": blob_digest,
            "spec_version": analysis.spec_version,
            "binding": analysis.binding,
        },
    )
    return sbom


def _facts(index: BomIndex) -> list[tuple[str, str, int | None]]:
    facts: list[tuple[str, str, int | None]] = []
    facts += [("license", value, None) for value in index.licenses]
    facts += [("supplier", value[:512], None) for value in index.suppliers]
    for dataset in index.datasets:
        facts.append(("dataset", dataset.name[:512], None))
        facts += [("component", _digest_text(alg, hexd), None) for alg, hexd in dataset.hashes]
    facts += [
        ("opset", domain or "ai.onnx", version) for domain, version in index.onnx_opsets.items()
    ]
    facts += [("dtype", value, None) for value in index.tensor_dtypes]
    facts += [
        ("component", _digest_text(h.algorithm, h.content), None) for h in index.component_hashes
    ]
    return list(dict.fromkeys(facts))


def _digest_text(algorithm: str, hex_digest: str) -> str:
    """CycloneDX ``SHA-256`` + hex -> ``sha256:<hex>``, the registry's digest spelling."""
    return f"{algorithm.lower().replace('-', '')}:{hex_digest.lower()}"


async def ingest_referrer(
    session: AsyncSession,
    blobs: BlobStore,
    *,
    repository: Repository,
    referrer: Manifest,
    layers: list[tuple[str, str, int]],
    actor: str,
    limit: int,
) -> Sbom | None:
    """Ingest an SBOM pushed as an OCI referrer; ``None`` if its subject is not here yet.

    ``layers`` are the referrer's (media type, digest, size); the BOM is the layer of
    the CycloneDX media type, or the only layer.
    """
    if referrer.subject_digest is None:
        return None
    subject = await find_manifest_by_digest(session, repository, referrer.subject_digest)
    if subject is None:
        return None  # OCI allows a referrer before its subject; it is kept, not indexed
    candidates = [layer for layer in layers if layer[0] == CYCLONEDX_JSON] or layers
    if len(candidates) != 1:
        raise SbomRejected("an SBOM referrer must carry exactly one CycloneDX JSON layer")
    _media_type, digest, size = candidates[0]
    data = await read_blob(blobs, digest, size, limit)
    analysis = await analyse(session, subject, data, limit)
    return await record_sbom(
        session,
        analysis,
        repository=repository,
        subject=subject,
        referrer=referrer,
        blob_digest=digest,
        actor=actor,
    )


class SbomReferrers:
    """The OCI store's ``ManifestStored`` hook: a CycloneDX referrer pushed over ``/v2/`` is
    ingested in the push's transaction (a BOM that fails its checks refuses the push)."""

    def __init__(self, blobs: BlobStore, *, limit: int) -> None:
        self.blobs = blobs
        self.limit = limit

    async def manifest_stored(
        self,
        session: AsyncSession,
        *,
        repository: Repository,
        manifest: Manifest,
        parsed: ParsedManifest,
        actor: str,
    ) -> None:
        if parsed.artifact_type != CYCLONEDX_JSON:
            return
        await ingest_referrer(
            session,
            self.blobs,
            repository=repository,
            referrer=manifest,
            layers=[(d.media_type, d.digest, d.size) for d in parsed.layers],
            actor=actor,
            limit=self.limit,
        )
