"""Attach an SBOM to a version: the referrer an OCI client would push, built for the caller;
and find versions by the facts of their SBOMs and by who signed them.

No HTTP here: :mod:`registry.sbom.api` reads the request and answers; this checks the
BOM, stores its bytes and the referrer manifest, and records the SBOM, in the caller's
transaction (the caller commits).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.audit.service import refuse
from registry.auth import Principal
from registry.db.models import Manifest, Repository, Sbom
from registry.digests import Digest
from registry.errors import InvalidInput, QuotaExceeded
from registry.lifecycle.queries import visible_namespaces
from registry.naming import validate_namespace
from registry.oci import mediatypes as mt
from registry.oci import queries as oci_queries
from registry.oci import quota as oci_quota
from registry.oci import service as oci_service
from registry.oci.manifests import parse_manifest
from registry.sbom import queries, schemas
from registry.sbom.ingest import analyse, record_sbom
from registry.storage import BlobStore
from registry.verification.signer_search import parse_signer, signed_by

__all__ = ["attach_sbom", "search_versions"]

_OPSET_RE = re.compile(r"^(?:(?P<domain>[A-Za-z0-9_.]*)(?P<op>>=|<=|=))?(?P<version>\d{1,4})\Z")


async def _put_bytes(blobs: BlobStore, data: bytes) -> Digest:
    async def once() -> AsyncIterator[bytes]:
        yield data

    stat = await blobs.put(once(), expected=Digest.of_bytes(data))
    return stat.digest


def _referrer_document(subject: Manifest, sbom_digest: Digest, size: int, empty: Digest) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "artifactType": mt.CYCLONEDX_JSON,
        "config": {"mediaType": mt.OCI_EMPTY, "digest": str(empty), "size": 2},
        "layers": [
            {
                "mediaType": mt.CYCLONEDX_JSON,
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


async def _require_room(
    session: AsyncSession,
    repository: Repository,
    sbom_digest: Digest,
    data: bytes,
    body_digest: str,
    body: bytes,
    *,
    actor: str,
) -> None:
    """The namespace's quota holds the BOM, the empty config and the referrer manifest;
    else the refusal is audited and raised (409 problem), before any byte is stored."""
    try:
        await oci_quota.require_room(
            session,
            repository.namespace_id,
            [
                ("blob", str(sbom_digest), len(data)),
                ("blob", str(Digest.of_bytes(b"{}")), 2),
                ("manifest", body_digest, len(body)),
            ],
        )
    except QuotaExceeded as exc:
        await refuse(
            session,
            exc,
            actor=actor,
            action="sbom.attach.refused",
            subject=f"{repository.name}@{sbom_digest}",
            namespace=repository.name.split("/", 1)[0],
            detail={**exc.extra, "reason": exc.detail},
        )


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
    sbom_digest, empty = Digest.of_bytes(data), Digest.of_bytes(b"{}")
    body = _referrer_document(subject, sbom_digest, len(data), empty)
    body_digest = "sha256:" + hashlib.sha256(body).hexdigest()
    # The digests' locks first (then the namespace's, in the quota check): the order every
    # link takes, so the collector removes neither the bytes nor the rows meanwhile.
    for digest in sorted({str(sbom_digest), str(empty)}):
        await oci_queries.lock_digest(session, digest)
    await _require_room(session, repository, sbom_digest, data, body_digest, body, actor=actor)

    await _put_bytes(blobs, data)
    await _put_bytes(blobs, b"{}")
    await oci_queries.link_blob(session, repository, str(sbom_digest), len(data))
    await oci_queries.link_blob(session, repository, str(empty), 2)
    referrer, _created = await oci_service.store_manifest(
        session,
        repository,
        digest=body_digest,
        body=body,
        parsed=parse_manifest(body, mt.OCI_MANIFEST),
        actor=actor,
    )
    existing = await queries.sbom_of_referrer(session, referrer)
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


def _opset(text: str) -> Select[Any]:
    match = _OPSET_RE.match(text.replace(" ", ""))
    if match is None:
        raise InvalidInput(f"opset {text!r} must look like 13, >=13, or com.microsoft>=1")
    domain = match.group("domain") or "ai.onnx"
    return queries.with_opset(domain, match.group("op") or ">=", int(match.group("version")))


async def search_versions(
    session: AsyncSession,
    principal: Principal,
    *,
    facts: Mapping[str, str | None],
    component: str | None,
    opset: str | None,
    limit: int,
    offset: int,
    signer: str | None = None,
    namespace: str | None = None,
) -> schemas.VersionSearch:
    """Versions the caller may see whose SBOM has every fact asked for (``facts`` by kind,
    a component digest, an ONNX opset such as ``13``, ``>=13`` or ``com.microsoft>=1``) and,
    with ``signer``, a verified signature by that signer (key id, identity or signer name:
    :mod:`registry.verification.signer_search`); in ``namespace`` only if given."""
    conditions = [
        queries.with_fact(kind, value) for kind, value in facts.items() if value is not None
    ]
    if component is not None:
        conditions.append(queries.with_fact("component", str(Digest.parse(component))))
    if opset is not None:
        conditions.append(_opset(opset))
    versions = []
    if signer is not None:
        dialect = session.get_bind().dialect.name
        versions.append(signed_by(parse_signer(signer), dialect))
    if not conditions and not versions:
        raise InvalidInput("give at least one of dataset, license, opset, component, signer, ...")
    rows, total = await queries.versions_with(
        session,
        conditions,
        versions=versions,
        namespace=validate_namespace(namespace) if namespace is not None else None,
        visible=visible_namespaces(principal),
        limit=limit,
        offset=offset,
    )
    return schemas.VersionSearch(
        versions=[
            schemas.VersionHit(model=r[0], version=r[1], digest=r[2], sbom_digest=r[3])
            for r in rows
        ],
        total=total,
    )
