"""The agent's trusted state: which verified version is current for each alias, and why.

One JSON document (``state.json`` in the cache directory) holds, per
``<repository>@<alias>``, the current and previous verified versions (every
file's sha256 from the signed TUF targets and the blake3 the agent computed over
the same bytes while downloading), the earliest expiry of the TUF metadata that
vouched for the current one, and the last failure with its reason code; plus the
blob index (sha256 -> blake3, size) of the content-addressed cache.

Writes are atomic and durable: a temporary file in the same directory is written,
fsynced, renamed over the old one, and the directory is fsynced, so a crash leaves
either the old or the new state, never a torn one. A lock file (``flock``) keeps a
second agent process off the same cache while one is writing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifier.agent.errors import AgentError

__all__ = [
    "AgentState",
    "Failure",
    "FileRecord",
    "Track",
    "VersionRecord",
    "iso",
    "locked",
    "now",
]

_FORMAT = 1


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """``2026-11-23T01:30:00Z``: how the state writes instants."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class FileRecord:
    name: str
    sha256: str  # "sha256:<hex>", from the signed TUF target
    blake3: str  # "blake3:<hex>", computed over the same bytes as sha256
    size: int
    media_type: str = ""


@dataclass(frozen=True)
class VersionRecord:
    version: str
    manifest: str
    files: tuple[FileRecord, ...]
    signers: tuple[str, ...]
    expires: str  # earliest expiry of the TUF metadata that vouched for it
    verified_at: str
    bundles: tuple[str, ...] = ()  # the OMS bundles' blobs, re-checked against the policy

    @property
    def expires_at(self) -> datetime:
        return _parse(self.expires)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VersionRecord:
        return cls(
            version=str(data["version"]),
            manifest=str(data["manifest"]),
            files=tuple(FileRecord(**f) for f in data["files"]),
            signers=tuple(data.get("signers") or ()),
            expires=str(data["expires"]),
            verified_at=str(data["verified_at"]),
            bundles=tuple(data.get("bundles") or ()),
        )


@dataclass(frozen=True)
class Failure:
    reason: str
    message: str
    at: str


@dataclass
class Track:
    """What the agent knows about one ``repository@alias``."""

    current: VersionRecord | None = None
    previous: VersionRecord | None = None
    last_failure: Failure | None = None
    last_success: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current.to_json() if self.current else None,
            "previous": self.previous.to_json() if self.previous else None,
            "last_failure": asdict(self.last_failure) if self.last_failure else None,
            "last_success": self.last_success,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Track:
        failure = data.get("last_failure")
        return cls(
            current=VersionRecord.from_json(data["current"]) if data.get("current") else None,
            previous=VersionRecord.from_json(data["previous"]) if data.get("previous") else None,
            last_failure=Failure(**failure) if failure else None,
            last_success=data.get("last_success"),
        )


@dataclass
class AgentState:
    registry: str = ""
    tracks: dict[str, Track] = field(default_factory=dict)
    blobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def track(self, key: str) -> Track:
        return self.tracks.setdefault(key, Track())

    def followed(self, repository: str) -> list[str]:
        """The ``repository@alias`` keys of ``repository`` with a verified current version."""
        return sorted(
            key
            for key, track in self.tracks.items()
            if key.rpartition("@")[0] == repository and track.current is not None
        )

    def promote(self, key: str, record: VersionRecord) -> None:
        """Make ``record`` current; the old current becomes previous (if it differs)."""
        track = self.track(key)
        if track.current is not None and track.current.manifest != record.manifest:
            track.previous = track.current
        track.current = record
        track.last_success = iso(now())

    def fail(self, key: str, reason: str, message: str) -> None:
        self.track(key).last_failure = Failure(reason, message, iso(now()))

    @classmethod
    def load(cls, path: Path) -> AgentState:
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("format") != _FORMAT:
                raise ValueError(f"unknown state format {data.get('format')!r}")
            return cls(
                registry=str(data.get("registry", "")),
                tracks={k: Track.from_json(v) for k, v in data.get("tracks", {}).items()},
                blobs=dict(data.get("blobs", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AgentError("storage", f"agent state {path} is unreadable: {exc}") from exc

    def save(self, path: Path) -> None:
        document = {
            "format": _FORMAT,
            "registry": self.registry,
            "tracks": {k: v.to_json() for k, v in sorted(self.tracks.items())},
            "blobs": dict(sorted(self.blobs.items())),
        }
        write_atomically(path, json.dumps(document, indent=1).encode())


def write_atomically(path: Path, data: bytes) -> None:
    """Temporary file, fsync, rename, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        Path(temporary).replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()
        raise AgentError("storage", f"cannot write {path}: {exc}") from exc
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextlib.contextmanager
def locked(cache_dir: Path) -> Iterator[None]:
    """Hold the cache's exclusive lock (one agent writes at a time)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / "lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
