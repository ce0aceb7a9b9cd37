"""What a namespace's targets role lists, read from the OCI store's rows.

Paths have a fixed depth of four segments (TUF path patterns match one segment
at a time, so ``<namespace>/*/*/*`` covers them and nothing else):

- ``<ns>/<model>/<version>/<file>``: a file of a version; ``<file>`` is the layer's
  title annotation, percent-encoded so that it stays one segment;
- ``<ns>/<model>/<version>/@manifest``: the version's manifest bytes;
- ``<ns>/<model>/@alias/<alias>``: an alias, with the manifest it points at.

Length and sha256 are those of the exact bytes the OCI API serves, so a client
fetches by digest from ``/v2/`` and checks them against the signed target info.
An alias that points at no version is not listed (it is not a release).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tuf.api.metadata import TargetFile  # type: ignore[attr-defined]  # re-exported

from registry.db.models import Manifest, ManifestReference, Namespace, Repository, Tag

log = logging.getLogger("registry.tuf")

MANIFEST_SEGMENT = "@manifest"
ALIAS_SEGMENT = "@alias"


def file_path(namespace_repository: str, version: str, title: str) -> str:
    return f"{namespace_repository}/{version}/{quote(title, safe='')}"


def manifest_path(namespace_repository: str, version: str) -> str:
    return f"{namespace_repository}/{version}/{MANIFEST_SEGMENT}"


def alias_path(namespace_repository: str, alias: str) -> str:
    return f"{namespace_repository}/{ALIAS_SEGMENT}/{alias}"


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1]


def _target(path: str, length: int, digest: str, custom: dict[str, Any]) -> TargetFile:
    return TargetFile(
        length=length,
        hashes={"sha256": _hex(digest)},
        path=path,
        unrecognized_fields={"custom": custom},
    )


async def namespace_targets(
    session: AsyncSession,
    namespace: str,
    repository: str | None = None,
    manifest_id: int | None = None,
) -> dict[str, TargetFile]:
    """Every target of ``namespace``, by path; or only those of one of its repositories,
    or only those naming one manifest of it (its versions, their files, its aliases)."""
    only: tuple[Any, ...] = ()
    if repository is not None:
        only += (Repository.name == repository,)
    if manifest_id is not None:
        only += (Tag.manifest_id == manifest_id,)
    tags = (
        await session.execute(
            select(
                Repository.name,
                Tag.name,
                Tag.is_version,
                Tag.manifest_id,
                Tag.created_at,
                Manifest.digest,
                Manifest.media_type,
                Manifest.size,
            )
            .join(Repository, Repository.id == Tag.repository_id)
            .join(Namespace, Namespace.id == Repository.namespace_id)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(Namespace.name == namespace, *only)
            .order_by(Repository.name, Tag.created_at, Tag.name)
        )
    ).all()
    layers = await _layers(session, namespace, only)

    targets: dict[str, TargetFile] = {}
    # The version an alias points at: the newest version tag on the same manifest.
    version_of: dict[tuple[str, int], str] = {}
    for repository, tag, is_version, manifest_id, _created, digest, media_type, size in tags:
        if not is_version:
            continue
        version_of[(repository, manifest_id)] = tag
        path = manifest_path(repository, tag)
        targets[path] = _target(path, size, digest, {"mediaType": media_type})
        for title, (layer_digest, layer_type, layer_size) in layers.get(manifest_id, {}).items():
            path = file_path(repository, tag, title)
            targets[path] = _target(
                path, layer_size, layer_digest, {"manifest": digest, "mediaType": layer_type}
            )
    for repository, tag, is_version, manifest_id, _created, digest, _type, size in tags:
        if is_version:
            continue
        version = version_of.get((repository, manifest_id))
        if version is None:
            continue
        path = alias_path(repository, tag)
        targets[path] = _target(path, size, digest, {"version": version, "manifest": digest})
    return targets


async def _layers(
    session: AsyncSession, namespace: str, only: tuple[Any, ...] = ()
) -> dict[int, dict[str, tuple[str, str, int]]]:
    """Titled layers of the namespace's version manifests: manifest id -> title -> layer."""
    rows = (
        await session.execute(
            select(
                ManifestReference.manifest_id,
                ManifestReference.title,
                ManifestReference.digest,
                ManifestReference.media_type,
                ManifestReference.size,
            )
            .join(Tag, Tag.manifest_id == ManifestReference.manifest_id)
            .join(Repository, Repository.id == Tag.repository_id)
            .join(Namespace, Namespace.id == Repository.namespace_id)
            .where(
                Namespace.name == namespace,
                *only,
                Tag.is_version.is_(True),
                ManifestReference.role == "layer",
                ManifestReference.title.is_not(None),
            )
            .order_by(ManifestReference.manifest_id, ManifestReference.position)
        )
    ).all()
    files: dict[int, dict[str, tuple[str, str, int]]] = defaultdict(dict)
    ambiguous: set[tuple[int, str]] = set()
    for manifest_id, title, digest, media_type, size in rows:
        if title is None:  # pragma: no cover - filtered in SQL
            continue
        known = files[manifest_id].get(title)
        if known is not None and known[0] != digest:
            ambiguous.add((manifest_id, title))
        files[manifest_id][title] = (digest, media_type, size)
    for manifest_id, title in ambiguous:
        # Two different files under one name: list neither, so no client picks one.
        log.warning("manifest %d names two files %r: not listed in TUF", manifest_id, title)
        del files[manifest_id][title]
    return files
