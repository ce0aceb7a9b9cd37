"""Fetch one version: manifest and missing blobs by digest, each checked against TUF and OMS.

Called by :meth:`verifier.agent.Agent.pull` once the alias and the version's
``@manifest`` target are resolved. Every layer needs a signed file target with its
size and digest; only blobs the cache lacks are downloaded (verified on the way
in); the OMS signatures are then checked under the operator's policy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tuf.api.metadata import TargetFile  # type: ignore[attr-defined]  # re-exported

from verifier.agent._cache import BlobCache
from verifier.agent._signatures import fetch_bundles, verify_signatures
from verifier.agent._state import FileRecord, VersionRecord, iso, now
from verifier.agent._targets import custom, file_path, sha256_of
from verifier.agent.errors import AgentError
from verifier.agent.freshness import SignedRepository
from verifier.clients.registry import RegistryClient
from verifier.errors import FetchError, IntegrityError
from verifier.signature_policies import Policy

__all__ = ["TITLE", "Progress", "fetch_version"]

TITLE = "org.opencontainers.image.title"
Progress = Callable[[int, int], None]  # (bytes just received, total bytes to fetch)


def fetch_version(
    client: RegistryClient,
    signed: SignedRepository,
    cache: BlobCache,
    repository: str,
    version: str,
    manifest_digest: str,
    version_target: TargetFile,
    expires: datetime,
    progress: Progress | None,
    policy: Policy,
    scratch: Path,
) -> tuple[VersionRecord, int, int]:
    """Fetch a version's manifest and missing blobs, check them against TUF and the OMS
    signatures; return its record, bytes downloaded and bytes reused from the cache."""
    try:
        fetched = client.get_manifest(repository, manifest_digest)
    except IntegrityError as exc:
        raise AgentError("digest", exc.diagnostics()) from exc
    except FetchError as exc:
        raise AgentError("network", exc.diagnostics()) from exc
    if len(fetched.body) != version_target.length or fetched.digest != manifest_digest:
        raise AgentError("digest", f"manifest of {repository}:{version} differs from TUF")
    layers = _layers(fetched.json(), repository, version)
    files: list[tuple[str, str, int, str]] = []
    for title, digest, size, media_type in layers:
        target = signed.target(
            file_path(repository, version, title), f"file {title!r} of {version}"
        )
        if sha256_of(target) != digest or target.length != size:
            raise AgentError(
                "digest", f"layer {title!r} of {version} differs from its signed target"
            )
        if custom(target).get("manifest") not in (None, manifest_digest):
            raise AgentError("unsigned", f"file {title!r} is signed for another manifest")
        files.append((title, digest, size, media_type))
    missing: list[tuple[str, str, int, str]] = []
    blake: dict[str, str] = {}
    reused = 0
    for title, digest, size, media_type in files:
        value = cache.cached(digest, size)
        if value is None:
            missing.append((title, digest, size, media_type))
        else:
            blake[digest] = value
            reused += size
    total = sum({digest: size for _, digest, size, _ in missing}.values())
    advance = (lambda n: progress(n, total)) if progress else None
    downloaded = 0
    for _title, digest, size, _media in missing:
        if digest in blake:
            continue  # two layers with the same bytes
        blake[digest] = cache.fetch(client, repository, digest, size, advance)
        downloaded += size
    bundles, bundle_blobs = fetch_bundles(client, cache, repository, manifest_digest)
    verified = verify_signatures(
        bundles,
        policy,
        {title: digest for title, digest, _, _ in files},
        {title: cache.path(digest) for title, digest, _, _ in files},
        scratch,
    )
    record = VersionRecord(
        version=version,
        manifest=manifest_digest,
        files=tuple(
            FileRecord(title, digest, blake[digest], size, media_type)
            for title, digest, size, media_type in files
        ),
        signers=tuple(str(s.identity) for s in verified.signatures)
        + tuple(f"unverified, accepted by audit: {f}" for f in verified.findings),
        expires=iso(expires),
        verified_at=iso(now()),
        bundles=tuple(bundle_blobs),
    )
    return record, downloaded, reused


def _layers(
    document: dict[str, Any], repository: str, version: str
) -> list[tuple[str, str, int, str]]:
    layers = document.get("layers")
    if not isinstance(layers, list) or not layers:
        raise AgentError("format", f"{repository}:{version} is not a model manifest")
    found: list[tuple[str, str, int, str]] = []
    seen: set[str] = set()
    for layer in layers:
        if not isinstance(layer, dict):
            raise AgentError("format", "a layer is not an object")
        title = (layer.get("annotations") or {}).get(TITLE)
        digest, size = layer.get("digest"), layer.get("size")
        if not isinstance(title, str) or not isinstance(digest, str) or not isinstance(size, int):
            raise AgentError("format", f"a layer of {version} lacks a title, digest or size")
        if title in seen:
            raise AgentError("format", f"{version} names file {title!r} twice")
        seen.add(title)
        found.append((title, digest, size, str(layer.get("mediaType", ""))))
    return found
