"""A TUF repository shaped like the registry's (ADR 0006), built with ``tuf.api.metadata``.

Consistent snapshots; top-level targets delegates one terminating role per
namespace (paths ``<ns>/*/*/*``); targets name version files, ``@manifest`` and
``@alias/<alias>``. Every published file is kept by name, so tests can serve an
old one (rollback, freeze, mix-and-match) through :class:`MemoryFetcher`, the way
python-tuf's own repository simulator drives the real client.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from securesystemslib.signer import CryptoSigner, Signer
from tuf.api.exceptions import DownloadHTTPError
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient.fetcher import FetcherInterface

BASE = "http://tuf.invalid/tuf/"


class TufRepository:
    def __init__(self, namespaces: tuple[str, ...] = ("acme",), *, lifetime: timedelta) -> None:
        self.lifetime = lifetime
        self.signers: dict[str, list[Signer]] = {}
        self.thresholds: dict[str, int] = {}
        self.root = Metadata(Root(expires=self._expiry(365)))
        self.root.signed.consistent_snapshot = True
        for role in ("root", "timestamp", "snapshot", "targets"):
            self._add_key(role, role, 1)
        self.targets = Metadata(Targets(expires=self._expiry()))
        self.targets.signed.delegations = Delegations(keys={}, roles={})
        self.delegated: dict[str, Metadata[Targets]] = {}
        for namespace in namespaces:
            self.add_namespace(namespace, threshold=1, keys=1)
        self.snapshot = Metadata(Snapshot(expires=self._expiry()))
        self.timestamp = Metadata(Timestamp(expires=self._expiry()))
        self.files: dict[str, bytes] = {}
        self.publish_root()
        self.publish()

    def _expiry(self, days: float | None = None) -> datetime:
        span = timedelta(days=days) if days is not None else self.lifetime
        return (datetime.now(UTC) + span).replace(microsecond=0)

    def _add_key(self, holder: str, role: str, count: int) -> None:
        for _ in range(count):
            signer = CryptoSigner.generate_ed25519()
            self.signers.setdefault(holder, []).append(signer)
            self.root.signed.add_key(signer.public_key, role)

    def add_namespace(self, namespace: str, *, threshold: int, keys: int) -> None:
        signers = [CryptoSigner.generate_ed25519() for _ in range(keys)]
        self.signers[namespace] = signers
        delegations = self.targets.signed.delegations
        assert delegations is not None and delegations.roles is not None
        for signer in signers:
            delegations.keys[signer.public_key.keyid] = signer.public_key
        delegations.roles[namespace] = DelegatedRole(
            namespace,
            [s.public_key.keyid for s in signers],
            threshold,
            True,
            paths=[f"{namespace}/*/*/*"],
        )
        self.delegated[namespace] = Metadata(Targets(expires=self._expiry()))

    # -- content --------------------------------------------------------------------

    def add_target(
        self, namespace: str, path: str, data: bytes, custom: dict[str, str] | None = None
    ) -> None:
        target = TargetFile.from_data(path, data, ["sha256"])
        if custom:
            target.unrecognized_fields["custom"] = custom
        self.delegated[namespace].signed.targets[path] = target

    def add_target_info(
        self, namespace: str, path: str, length: int, sha256: str, custom: dict[str, str]
    ) -> None:
        target = TargetFile(length, {"sha256": sha256}, path)
        target.unrecognized_fields["custom"] = custom
        self.delegated[namespace].signed.targets[path] = target

    def remove_target(self, namespace: str, path: str) -> None:
        del self.delegated[namespace].signed.targets[path]

    # -- signing and publishing ------------------------------------------------------

    @staticmethod
    def _bytes(metadata: Metadata) -> bytes:  # type: ignore[type-arg]
        return metadata.to_bytes(JSONSerializer(compact=False))

    def sign(self, metadata: Metadata, holder: str, signers: list[Signer] | None = None) -> None:  # type: ignore[type-arg]
        metadata.signatures.clear()
        for signer in signers if signers is not None else self.signers[holder]:
            metadata.sign(signer, append=True)

    def publish_root(self) -> None:
        self.sign(self.root, "root")
        self.files[f"{self.root.signed.version}.root.json"] = self._bytes(self.root)

    def publish(
        self,
        *,
        namespace_signers: dict[str, list[Signer]] | None = None,
        expire_timestamp: datetime | None = None,
    ) -> None:
        """Bump and sign every changed role, snapshot and timestamp; keep the files."""
        for namespace, metadata in self.delegated.items():
            metadata.signed.version += 1
            metadata.signed.expires = self._expiry()
            chosen = (namespace_signers or {}).get(namespace)
            self.sign(metadata, namespace, chosen)
            self.files[f"{metadata.signed.version}.{namespace}.json"] = self._bytes(metadata)
            self.snapshot.signed.meta[f"{namespace}.json"] = MetaFile(metadata.signed.version)
        self.targets.signed.version += 1
        self.targets.signed.expires = self._expiry()
        self.sign(self.targets, "targets")
        self.files[f"{self.targets.signed.version}.targets.json"] = self._bytes(self.targets)
        self.snapshot.signed.meta["targets.json"] = MetaFile(self.targets.signed.version)
        self.snapshot.signed.version += 1
        self.snapshot.signed.expires = self._expiry()
        self.sign(self.snapshot, "snapshot")
        snapshot_bytes = self._bytes(self.snapshot)
        self.files[f"{self.snapshot.signed.version}.snapshot.json"] = snapshot_bytes
        self.timestamp.signed.snapshot_meta = MetaFile(self.snapshot.signed.version)
        self.timestamp.signed.version += 1
        self.timestamp.signed.expires = expire_timestamp or self._expiry()
        self.sign(self.timestamp, "timestamp")
        self.files["timestamp.json"] = self._bytes(self.timestamp)
        self.files[f"{self.timestamp.signed.version}.timestamp.json"] = self.files["timestamp.json"]

    def root_bytes(self) -> bytes:
        return self.files["1.root.json"]

    def snapshot_copy(self) -> Metadata:  # type: ignore[type-arg]
        return copy.deepcopy(self.snapshot)

    def serve(self) -> MemoryFetcher:
        return MemoryFetcher(self.files)


class MemoryFetcher(FetcherInterface):
    """Serves ``BASE + name`` from a dict (the live view of the repository's files)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[str] = []
        self.offline = False

    def _fetch(self, url: str) -> Iterator[bytes]:
        self.requests.append(url)
        if self.offline:
            from tuf.api.exceptions import DownloadError

            raise DownloadError("network unreachable (test)")
        name = unquote(url.partition("/tuf/")[2])
        if name not in self.files:
            raise DownloadHTTPError(f"{url} not found", 404)
        return iter([self.files[name]])


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def quoted(title: str) -> str:
    return quote(title, safe="")
