"""TUF refresh and lookups through python-tuf's ngclient: is this alias, version, file current?

:class:`SignedRepository` opens an ngclient ``Updater`` over the agent's trusted
metadata directory, bootstrapped from the operator's ``root.json``, refreshes
top-level metadata (root rotation, timestamp, snapshot, targets: rollback,
freeze, mix-and-match and threshold checks all happen inside ngclient) and
answers target lookups, walking the namespace delegation. It never downloads a
target: the agent fetches bytes by digest from the OCI API and checks them
against the :class:`~tuf.api.metadata.TargetFile` returned here.

ngclient writes each verified metadata file atomically (temporary file, then
``os.replace``), so the trusted state survives a restart and a failed refresh
leaves the previous trusted copy in place.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata, TargetFile  # type: ignore[attr-defined]  # re-exported
from tuf.ngclient.config import UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface
from tuf.ngclient.updater import Updater

from verifier.agent.errors import AgentError

__all__ = ["SignedRepository", "reason_for_tuf_error"]

_logger = logging.getLogger(__name__)


def reason_for_tuf_error(exc: Exception) -> AgentError:
    """Map python-tuf's errors onto the agent's reason codes."""
    text = f"TUF: {type(exc).__name__}: {exc}"
    if isinstance(exc, tuf_errors.ExpiredMetadataError):
        return AgentError("expired", text)
    if isinstance(exc, tuf_errors.UnsignedMetadataError):
        return AgentError("threshold", text)
    if isinstance(exc, tuf_errors.BadVersionNumberError):
        return AgentError("rollback", text)
    if isinstance(exc, tuf_errors.LengthOrHashMismatchError):
        return AgentError("digest", text)
    if isinstance(exc, tuf_errors.DownloadLengthMismatchError):
        return AgentError("digest", text)
    if isinstance(exc, tuf_errors.DownloadError):
        return AgentError("network", text)
    if isinstance(exc, tuf_errors.RepositoryError):
        # e.g. a role missing from snapshot, a removed snapshot entry: inconsistent metadata
        return AgentError("rollback", text)
    if isinstance(exc, OSError):
        return AgentError("storage", text)
    return AgentError("format", text)


class SignedRepository:
    """One refresh of the registry's TUF metadata and the lookups that follow it."""

    def __init__(
        self,
        metadata_dir: Path,
        trust_root: bytes,
        fetcher: FetcherInterface,
        base_url: str,
    ) -> None:
        metadata_dir.mkdir(parents=True, exist_ok=True)
        self._dir = metadata_dir
        try:
            self._updater = Updater(
                str(metadata_dir),
                base_url,
                fetcher=fetcher,
                config=UpdaterConfig(prefix_targets_with_hash=False),
                bootstrap=trust_root,
            )
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError, OSError, ValueError) as exc:
            raise reason_for_tuf_error(exc) from exc

    def refresh(self) -> None:
        try:
            self._updater.refresh()
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError, OSError) as exc:
            raise reason_for_tuf_error(exc) from exc

    def target(self, path: str, what: str) -> TargetFile:
        """The signed info of ``path``; a path no role signs is ``unsigned``."""
        try:
            found = self._updater.get_targetinfo(path)
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError, OSError) as exc:
            raise reason_for_tuf_error(exc) from exc
        if found is None:
            raise AgentError("unsigned", f"{what} ({path}) is not in the signed TUF targets")
        return found

    def expires(self, roles: list[str]) -> datetime:
        """The earliest expiry among the trusted copies of ``roles`` (just verified)."""
        earliest = datetime.max.replace(tzinfo=UTC)
        for role in roles:
            path = self._dir / f"{role}.json"
            try:
                signed = Metadata.from_bytes(path.read_bytes()).signed
            except (OSError, tuf_errors.RepositoryError) as exc:
                raise AgentError("storage", f"trusted {role} metadata unreadable: {exc}") from exc
            earliest = min(earliest, signed.expires)
        return earliest
