"""TUF refresh and lookups through python-tuf's ngclient: is this alias, version, file current?

:class:`SignedRepository` opens an ngclient ``Updater`` over the agent's trusted
metadata directory, bootstrapped from the operator's ``root.json``, refreshes
top-level metadata (root rotation, timestamp, snapshot, targets: rollback,
freeze, mix-and-match and threshold checks all happen inside ngclient) and
answers target lookups, walking the namespace delegation. It never downloads a
target: the agent fetches bytes by digest from the OCI API and checks them
against the :class:`~tuf.api.metadata.TargetFile` returned here.

The trusted copy must always be one consistent, fully verified set: ngclient
persists each top-level file as soon as it verifies, so a refresh that fails at a
delegated role would leave a new snapshot beside an old namespace role, and the
last known good could no longer be re-verified. So each refresh works in a
staged copy of the trusted directory (:class:`MetadataStore`), and the agent
commits it (an atomic symlink swap) only when the whole pull succeeded;
otherwise the staged copy is discarded. Rollback protection is therefore
relative to the last successful pull.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata, TargetFile  # type: ignore[attr-defined]  # re-exported
from tuf.api.serialization import DeserializationError
from tuf.ngclient.config import UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface
from tuf.ngclient.updater import Updater

from verifier.agent.errors import AgentError, TrustRootInvalid

__all__ = ["MetadataStore", "SignedRepository", "check_trust_root", "reason_for_tuf_error"]

_logger = logging.getLogger(__name__)


_ROOT_EXPECTED = (
    'expected the registry\'s TUF root.json (JSON whose signed._type is "root"), as '
    "'custody tuf init --root-out' writes it and the registry serves it at /tuf/1.root.json"
)


def check_trust_root(data: bytes, source: str) -> None:
    """Refuse, naming what was expected, a trust root that is not TUF root metadata.

    Only the shape is checked here; ngclient verifies the root's own signatures when
    it bootstraps from it.
    """

    def refuse(why: str) -> TrustRootInvalid:
        return TrustRootInvalid(
            f"{source} is not a TUF root metadata file: {why}; {_ROOT_EXPECTED}"
        )

    try:
        document = json.loads(data)
    except ValueError:  # UnicodeDecodeError included
        policy = b"namespaces:" in data
        raise refuse(
            "it is not JSON" + (" (it looks like a trust policy)" if policy else "")
        ) from None
    signed = document.get("signed") if isinstance(document, dict) else None
    kind = signed.get("_type") if isinstance(signed, dict) else None
    if not isinstance(kind, str):
        raise refuse("it is JSON, but not TUF metadata (no signed._type)")
    if kind != "root":
        raise refuse(f"it is TUF {kind} metadata")
    try:
        Metadata.from_bytes(data)
    except DeserializationError as exc:
        raise refuse(f"it does not parse as root metadata ({exc.__cause__ or exc})") from exc


def reason_for_tuf_error(exc: Exception) -> AgentError:
    """Map python-tuf's errors onto the agent's reason codes."""
    text = f"TUF: {type(exc).__name__}: {exc}"
    if exc.__cause__ is not None:  # e.g. why deserialisation failed
        text += f" ({exc.__cause__})"
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
    if isinstance(exc, tuf_errors.DownloadHTTPError):
        return AgentError("network", text)
    if isinstance(exc, tuf_errors.DownloadError):  # the fetcher's own words: no TUF prefix
        return AgentError("network", str(exc))
    if isinstance(exc, DeserializationError):
        return AgentError("format", text)
    if isinstance(exc, tuf_errors.RepositoryError):
        # e.g. a role missing from snapshot, a removed snapshot entry: inconsistent metadata
        return AgentError("rollback", text)
    if isinstance(exc, OSError):
        return AgentError("storage", text)
    return AgentError("format", text)


class MetadataStore:
    """The trusted metadata directory as a symlink (``tuf``) to one complete copy.

    Every copy is a directory ``tuf.<random>`` directly under ``root``, so copies
    are told apart by name, which holds for any spelling of ``root`` (relative,
    through a symlink): ``root.glob`` keeps the form of ``root`` while the link
    resolves to an absolute path, and comparing those two would never match and
    sweep the trusted copy away. (The agent still resolves its paths once, in
    :class:`~verifier.agent.agent.AgentConfig`.)
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.link = root / "tuf"

    def trusted(self) -> Path:
        """The committed copy (created empty on first use)."""
        if not self.link.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            first = self.root / f"tuf.{uuid.uuid4().hex}"
            first.mkdir()
            self._point_at(first)
        return self.link.resolve()

    def sweep(self) -> None:
        """Remove staged copies a crash left behind (call with the cache lock held)."""
        current = self.trusted()
        for leftover in self.root.glob("tuf.*"):
            if leftover.is_dir() and leftover.name != current.name:
                shutil.rmtree(leftover, ignore_errors=True)

    def stage(self) -> Path:
        staged = self.root / f"tuf.{uuid.uuid4().hex}"
        # Hard links, not copies: ngclient replaces files (temporary file + rename),
        # never writes in place, so the trusted copy's files cannot change through them.
        shutil.copytree(self.trusted(), staged, symlinks=True, copy_function=os.link)
        return staged

    def commit(self, staged: Path) -> None:
        old = self.trusted()
        self._point_at(staged)
        if old.name != staged.name:
            shutil.rmtree(old, ignore_errors=True)

    def _point_at(self, target: Path) -> None:
        temporary = self.root / f".tuf.{uuid.uuid4().hex}"
        temporary.symlink_to(target.name)
        temporary.replace(self.link)  # atomic: readers see the old copy or the new one
        directory = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class SignedRepository:
    """One refresh of the registry's TUF metadata in a staged copy, and the lookups after it.

    Use it as a context manager: the staged copy is discarded unless :meth:`commit`
    was called.
    """

    def __init__(
        self,
        store: MetadataStore,
        trust_root: bytes,
        fetcher: FetcherInterface,
        base_url: str,
    ) -> None:
        self._store = store
        self._dir = store.stage()
        self._committed = False
        try:
            self._updater = Updater(
                str(self._dir),
                base_url,
                fetcher=fetcher,
                config=UpdaterConfig(prefix_targets_with_hash=False),
                bootstrap=trust_root,
            )
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError, OSError, ValueError) as exc:
            self.discard()
            raise reason_for_tuf_error(exc) from exc

    def __enter__(self) -> SignedRepository:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self._committed:
            self.discard()

    def commit(self) -> None:
        """Make this refresh's metadata the trusted copy."""
        self._store.commit(self._dir)
        self._committed = True

    def discard(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def refresh(self) -> None:
        try:
            self._updater.refresh()
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError, OSError) as exc:
            raise reason_for_tuf_error(exc) from exc

    def find(self, path: str) -> TargetFile | None:
        """The signed info of ``path``, or ``None`` when no role signs it."""
        try:
            return self._updater.get_targetinfo(path)
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError, OSError) as exc:
            raise reason_for_tuf_error(exc) from exc

    def target(self, path: str, what: str) -> TargetFile:
        """The signed info of ``path``; a path no role signs is ``unsigned``."""
        found = self.find(path)
        if found is None:
            raise AgentError("unsigned", f"{what} ({path}) is not in the signed TUF targets")
        return found

    def expires(self, roles: list[str]) -> datetime:
        """The earliest expiry among the staged copies of ``roles`` (just verified)."""
        return earliest_expiry(self._dir, roles)


def earliest_expiry(directory: Path, roles: list[str]) -> datetime:
    """The earliest expiry among the metadata files of ``roles`` in ``directory``."""
    earliest = datetime.max.replace(tzinfo=UTC)
    for role in roles:
        path = directory / f"{role}.json"
        try:
            signed = Metadata.from_bytes(path.read_bytes()).signed
        except (OSError, tuf_errors.RepositoryError) as exc:
            raise AgentError("storage", f"trusted {role} metadata unreadable: {exc}") from exc
        earliest = min(earliest, signed.expires)
    return earliest
