"""The edge agent: pull ``repository@alias`` verified, keep the last good version, load it.

Pull (:meth:`Agent.pull`), in this order, each step fail-closed:

1. refresh TUF metadata with ngclient (rollback, freeze, mix-and-match, thresholds);
2. resolve the alias target, then the version's ``@manifest`` target: both must be
   signed and agree on the manifest digest (an alias at an unsigned version fails);
3. fetch the manifest by digest and check its length and sha256 against TUF;
4. for every layer, the file target ``<repo>/<version>/<title>`` must be signed with
   the layer's size and digest; fetch only blobs the cache lacks (resumable) and
   verify length + sha256 of every byte, computing blake3 in the same pass;
5. verify the OMS signature referrers against the operator's trust policy;
6. only then record the version as current (the old one becomes previous).

Any failure leaves the current version untouched and records the failure with its
reason code (:mod:`verifier.agent.errors`). Loading (:meth:`Agent.load_session`)
checks that the trusted metadata is still fresh (or within the configured grace
period when it has expired) and re-checks the recorded OMS signatures under
today's trust policy, then builds the session with
:func:`verifier.loading.load_onnx_session` from the cached files and the blake3
digests in the agent's state; a cached file altered on disk is detected there and,
when online, fetched again and the load retried once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from tuf.ngclient.fetcher import FetcherInterface

from verifier.agent._cache import BlobCache
from verifier.agent._fetch import Progress, fetch_version
from verifier.agent._signatures import (
    cached_bundles,
    reason_for,
    verify_signatures,
)
from verifier.agent._state import AgentState, FileRecord, VersionRecord, iso, locked, now
from verifier.agent._targets import (
    alias_path,
    check_repository,
    custom,
    manifest_path,
    sha256_of,
)
from verifier.agent.errors import AgentError
from verifier.agent.fetchers import MIRROR_BASE_URL, DirectoryFetcher, RegistryFetcher
from verifier.agent.freshness import MetadataStore, SignedRepository, earliest_expiry
from verifier.clients.registry import RegistryClient
from verifier.errors import FetchError, VerificationError
from verifier.loading import (
    DEFAULT_PROVIDERS,
    DigestMismatch,
    LeaseBroken,
    SessionSettings,
    VerifiedSession,
    load_onnx_session,
    load_safetensors,
)
from verifier.trust_policy_file import TrustPolicy

__all__ = ["Agent", "AgentConfig", "ExpiryPolicy", "PullResult"]

_logger = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True)
class ExpiryPolicy:
    """What to do when the trusted TUF metadata has expired and cannot be refreshed.

    ``grace`` zero (the default) refuses; a positive grace keeps serving the last
    verified version until ``expiry + grace``, logging a warning on every load.
    """

    grace: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.grace < timedelta(0):
            raise ValueError("the grace period cannot be negative")


@dataclass(frozen=True)
class AgentConfig:
    """Where the agent keeps its state, whom it trusts, and how it reaches the registry."""

    cache_dir: Path
    trust_root: bytes
    trust_policy: TrustPolicy
    registry: str | None = None
    token: str | None = None
    offline: bool = False
    mirror: Path | None = None
    expiry: ExpiryPolicy = field(default_factory=ExpiryPolicy)
    metadata_fetcher: FetcherInterface | None = None  # another transport (tests, proxies)

    def __post_init__(self) -> None:
        # The boundary where paths enter the agent: as typed they may be relative, go
        # through a symlink or start with ``~``. They are made absolute and resolved
        # here, once, so every path the agent derives and compares has one form
        # (``Path.glob`` keeps a relative root relative while ``Path.resolve`` does
        # not: mixing the two once deleted the trusted TUF metadata on every pull).
        object.__setattr__(self, "cache_dir", _resolved(self.cache_dir))
        if self.mirror is not None:
            object.__setattr__(self, "mirror", _resolved(self.mirror))


def _resolved(path: Path | str) -> Path:
    return Path(path).expanduser().resolve()


@dataclass(frozen=True)
class PullResult:
    """What a pull did: the version now current, and the bytes it cost."""

    repository: str
    alias: str
    version: str
    manifest: str
    changed: bool
    downloaded_bytes: int
    reused_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "alias": self.alias,
            "version": self.version,
            "manifest": self.manifest,
            "changed": self.changed,
            "downloaded_bytes": self.downloaded_bytes,
            "reused_bytes": self.reused_bytes,
        }


def _key(repository: str, alias: str) -> str:
    return f"{repository}@{alias}"


class Agent:
    """One cache directory, one registry, one trust root and trust policy."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.cache_dir = config.cache_dir
        self._state_path = config.cache_dir / "state.json"
        self._metadata = MetadataStore(config.cache_dir)
        self._fetcher: FetcherInterface | None = None  # one HTTP client, kept alive

    def close(self) -> None:
        if isinstance(self._fetcher, RegistryFetcher):
            self._fetcher.close()
        self._fetcher = None

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state --------------------------------------------------------------------

    def state(self) -> AgentState:
        return AgentState.load(self._state_path)

    def status(self) -> dict[str, Any]:
        """Current and previous versions and the last failure of every alias followed."""
        state = self.state()
        return {
            "registry": state.registry,
            "aliases": {key: track.to_json() for key, track in sorted(state.tracks.items())},
        }

    # -- pull ---------------------------------------------------------------------

    def pull(self, repository: str, alias: str, progress: Progress | None = None) -> PullResult:
        """Refresh, verify and make ``repository@alias`` current; see the module docstring."""
        namespace, _ = check_repository(repository, alias)
        key = _key(repository, alias)
        with locked(self.cache_dir):
            self._metadata.sweep()
            state = self.state()
            try:
                result = self._pull(state, namespace, repository, alias, progress)
            except AgentError as exc:
                self._record_failure(state, key, exc)
                raise
            except VerificationError as exc:  # e.g. no rule of the policy for the namespace
                error = AgentError(reason_for(exc), exc.diagnostics())
                self._record_failure(state, key, error)
                raise error from exc
            except FetchError as exc:  # e.g. a manifest that is not JSON
                error = AgentError("network", exc.diagnostics())
                self._record_failure(state, key, error)
                raise error from exc
            except OSError as exc:  # the cache or its disk
                error = AgentError("storage", f"{type(exc).__name__}: {exc}")
                self._record_failure(state, key, error)
                raise error from exc
            state.save(self._state_path)
            return result

    def _record_failure(self, state: AgentState, key: str, exc: AgentError) -> None:
        _logger.warning("pull %s refused: %s", key, exc.diagnostics())
        state.fail(key, exc.check, str(exc))
        state.save(self._state_path)

    def _registry(self) -> str:
        if not self.config.registry:
            raise AgentError("offline", "no registry URL configured")
        return self.config.registry.rstrip("/")

    def _signed_repository(self, *, local_only: bool) -> SignedRepository:
        # A mirror directory replaces the network for metadata; offline (and every
        # load) re-verifies the agent's own trusted copy instead.
        fetcher: FetcherInterface
        base_url = MIRROR_BASE_URL
        if self.config.mirror is not None:
            fetcher = DirectoryFetcher(self.config.mirror)
        elif local_only or self.config.offline:
            fetcher = DirectoryFetcher(self._metadata.trusted(), trusted_copy=True)
        else:
            base_url = f"{self._registry()}/tuf/"
            if self._fetcher is None:
                self._fetcher = self.config.metadata_fetcher or RegistryFetcher(
                    self._registry(), self.config.token
                )
            fetcher = self._fetcher
        return SignedRepository(self._metadata, self.config.trust_root, fetcher, base_url)

    def _pull(
        self,
        state: AgentState,
        namespace: str,
        repository: str,
        alias: str,
        progress: Progress | None,
    ) -> PullResult:
        key = _key(repository, alias)
        if self.config.registry and state.registry and state.registry != self._registry():
            raise AgentError(
                "storage",
                f"cache {self.cache_dir} follows the registry {state.registry}, not "
                f"{self._registry()}: use another cache directory for another registry",
            )
        with self._signed_repository(local_only=False) as signed:
            result, record = self._resolve(state, signed, namespace, repository, alias, progress)
            signed.commit()
        if self.config.registry:  # only a registry that served a verified pull owns the cache
            state.registry = self._registry()
        state.promote(key, record)
        if result.changed:
            self._prune(state)
        return result

    def _prune(self, state: AgentState) -> None:
        """Delete cached blobs no current or previous version of any alias uses.

        An edge disk holds at most two versions per alias (the current one and the last
        known good); ``.partial`` downloads stay, to be resumed.
        """
        keep: set[str] = set()
        for track in state.tracks.values():
            for record in (track.current, track.previous):
                if record is not None:
                    keep.update(f.sha256 for f in record.files)
                    keep.update(record.bundles)
        directory = self.cache_dir / "blobs" / "sha256"
        for digest in [d for d in state.blobs if d not in keep]:
            del state.blobs[digest]
        if directory.is_dir():
            for path in directory.iterdir():
                if "." not in path.name and f"sha256:{path.name}" not in keep:
                    path.unlink(missing_ok=True)

    def _resolve(
        self,
        state: AgentState,
        signed: SignedRepository,
        namespace: str,
        repository: str,
        alias: str,
        progress: Progress | None,
    ) -> tuple[PullResult, VersionRecord]:
        key = _key(repository, alias)
        signed.refresh()
        alias_target = signed.find(alias_path(repository, alias))
        if alias_target is None:
            raise AgentError(
                "not-found",
                f"no such alias {alias!r} in {repository}: the registry's signed TUF targets "
                f"name no {alias_path(repository, alias)}{_followed(state, repository)}",
            )
        version = custom(alias_target).get("version")
        if not isinstance(version, str):
            raise AgentError("format", f"alias target of {key} names no version")
        check_repository(repository, version)
        manifest_digest = sha256_of(alias_target)
        if custom(alias_target).get("manifest") not in (None, manifest_digest):
            raise AgentError("digest", f"alias {key}: custom manifest differs from its hashes")
        version_target = signed.target(
            manifest_path(repository, version), f"version {repository}:{version}"
        )
        if sha256_of(version_target) != manifest_digest or (
            version_target.length != alias_target.length
        ):
            raise AgentError(
                "unsigned",
                f"alias {key} points at {manifest_digest}, which is not the signed manifest "
                f"of {repository}:{version}",
            )
        expires = signed.expires(["timestamp", "snapshot", "targets", namespace])
        cache = BlobCache(self.cache_dir / "blobs", state.blobs)
        current = state.track(key).current
        if (
            current is not None
            and current.manifest == manifest_digest
            and current.version == version
            and all(cache.path(f.sha256).is_file() for f in current.files)
        ):
            self._check_signatures(repository, current)
            unchanged = PullResult(repository, alias, version, manifest_digest, False, 0, 0)
            return unchanged, _renewed(current, expires)
        if self.config.offline:
            raise AgentError(
                "offline", f"{key} moved to {version}; its files cannot be fetched offline"
            )
        with RegistryClient(self._registry(), self.config.token) as client:
            record, downloaded, reused = fetch_version(
                client, signed, cache, repository, version, manifest_digest,
                version_target, expires, progress,
                self.config.trust_policy.policy_for(repository), self.cache_dir / "tmp",
            )  # fmt: skip
        result = PullResult(repository, alias, version, manifest_digest, True, downloaded, reused)
        return result, record

    # -- load ---------------------------------------------------------------------

    def current(self, repository: str, alias: str) -> VersionRecord:
        """The current verified version, after checking the trusted metadata is fresh."""
        namespace, _ = check_repository(repository, alias)
        key = _key(repository, alias)
        with locked(self.cache_dir):
            state = self.state()
            record = state.track(key).current
            if record is None:
                raise AgentError(
                    "offline",
                    f"no verified version of {key} yet: pull it first"
                    + _followed(state, repository),
                )
            self._check_fresh(namespace, repository, record)
            self._check_signatures(repository, record)
            return record

    def _check_signatures(self, repository: str, record: VersionRecord) -> None:
        """Re-check the recorded OMS bundles under today's trust policy (no hashing, no network).

        A key removed from the operator's policy stops a version it alone signed from
        being pulled again or loaded, even one already cached.
        """
        cache = BlobCache(self.cache_dir / "blobs", {})
        try:
            policy = self.config.trust_policy.policy_for(repository)
        except VerificationError as exc:
            raise AgentError(reason_for(exc), exc.diagnostics()) from exc
        verify_signatures(
            cached_bundles(cache, record.bundles),
            policy,
            {f.name: f.sha256 for f in record.files},
            {f.name: cache.path(f.sha256) for f in record.files},
            self.cache_dir / "tmp",
        )

    def _check_fresh(self, namespace: str, repository: str, record: VersionRecord) -> None:
        try:
            with self._signed_repository(local_only=True) as signed:
                signed.refresh()
                target = signed.target(
                    manifest_path(repository, record.version), f"version {record.version}"
                )
                if self.config.mirror is not None:
                    signed.commit()  # newer metadata from the mirror becomes trusted
        except AgentError as exc:
            if exc.check != "expired" or not self.config.expiry.grace:
                raise
            expired_at = self._trusted_expiry(namespace)
            until = expired_at + self.config.expiry.grace
            if now() > until:
                raise AgentError(
                    "expired",
                    f"trusted TUF metadata expired at {iso(expired_at)} and the grace period "
                    f"ended at {iso(until)}",
                ) from exc
            _logger.warning(
                "serving %s %s on TUF metadata expired at %s (grace until %s)",
                repository,
                record.version,
                iso(expired_at),
                iso(until),
            )
            return
        if sha256_of(target) != record.manifest:
            raise AgentError(
                "unsigned",
                f"{repository}:{record.version} is no longer signed as {record.manifest}",
            )

    def _trusted_expiry(self, namespace: str) -> Any:
        roles = ["timestamp", "snapshot", "targets", namespace]
        return earliest_expiry(self._metadata.trusted(), roles)

    def load_session(
        self,
        repository: str,
        alias: str,
        *,
        model: str | None = None,
        providers: Sequence[str] = DEFAULT_PROVIDERS,
        allowed_providers: Collection[str] = DEFAULT_PROVIDERS,
        settings: SessionSettings | None = None,
    ) -> VerifiedSession:
        """An onnxruntime session over the current verified version of ``repository@alias``."""
        record = self.current(repository, alias)
        onnx_files = [f.name for f in record.files if f.name.endswith(".onnx")]
        if model is None:
            if len(onnx_files) != 1:
                raise AgentError(
                    "format", f"{record.version} has {len(onnx_files)} ONNX files: name one"
                )
            model = onnx_files[0]
        chosen = model

        def load() -> VerifiedSession:
            files, digests = self._files(record)
            return load_onnx_session(
                files,
                digests,
                model=chosen,
                providers=providers,
                allowed_providers=allowed_providers,
                settings=settings or SessionSettings(),
            )

        return self._with_refetch(repository, record, load)

    def load_safetensors(
        self, repository: str, alias: str, name: str
    ) -> dict[str, np.ndarray[Any, Any]]:
        """The tensors of file ``name`` of the current verified version, from verified bytes."""
        record = self.current(repository, alias)
        entry = next((f for f in record.files if f.name == name), None)
        if entry is None:
            raise AgentError("unsigned", f"{name!r} is not a file of {record.version}")

        def load() -> dict[str, np.ndarray[Any, Any]]:
            files, digests = self._files(record)
            return load_safetensors(name, files[name], digests[name])

        return self._with_refetch(repository, record, load)

    def _files(self, record: VersionRecord) -> tuple[dict[str, Path], dict[str, str]]:
        cache = BlobCache(self.cache_dir / "blobs", {})
        return (
            {f.name: cache.path(f.sha256) for f in record.files},
            {f.name: f.blake3 for f in record.files},
        )

    def _with_refetch(self, repository: str, record: VersionRecord, load: Callable[[], _T]) -> _T:
        """Load; a cached file altered on disk is fetched again (online) and the load retried."""
        cache = BlobCache(self.cache_dir / "blobs", {})
        for entry in record.files:
            if not cache.path(entry.sha256).is_file():
                if self.config.offline or not self.config.registry:
                    raise AgentError("offline", f"{entry.name} is not in the cache")
                _logger.warning("cached %s is missing: fetching it again", entry.name)
                self._refetch(repository, entry)
        for attempt in range(3):
            try:
                return load()
            except LeaseBroken as exc:
                # a writer touched a cached file during the load: verify it all again
                if attempt == 2:
                    raise AgentError("digest", exc.diagnostics()) from exc
            except DigestMismatch as exc:
                altered = next((f for f in record.files if f.name == exc.name), None)
                online = not self.config.offline and bool(self.config.registry)
                if attempt == 2 or altered is None or not online:
                    raise AgentError("digest", exc.diagnostics()) from exc
                _logger.warning("cached %s was altered on disk: fetching it again", exc.name)
                self._refetch(repository, altered)
        raise AgentError("digest", "the cached files kept changing during the load")

    def _refetch(self, repository: str, entry: FileRecord) -> None:
        with locked(self.cache_dir):
            state = self.state()
            cache = BlobCache(self.cache_dir / "blobs", state.blobs)
            cache.path(entry.sha256).unlink(missing_ok=True)
            with RegistryClient(self._registry(), self.config.token) as client:
                value = cache.fetch(client, repository, entry.sha256, entry.size)
            if value != entry.blake3:
                raise AgentError("digest", f"{entry.name}: re-fetched bytes differ from verified")
            state.save(self._state_path)


def _followed(state: AgentState, repository: str) -> str:
    """``; this cache follows ns/model@a, ns/model@b``, or nothing: a hint for a typo."""
    followed = state.followed(repository)
    return f"; this cache follows {', '.join(followed)}" if followed else ""


def _renewed(record: VersionRecord, expires: Any) -> VersionRecord:
    return replace(record, expires=iso(expires))
