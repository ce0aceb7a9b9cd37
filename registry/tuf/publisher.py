"""Turns the OCI store's state into new signed TUF metadata versions.

One publication runs in one transaction, after :func:`registry.tuf.queries.lock`:

1. every namespace marked changed (or forced, or whose role is half-way to
   expiry) gets a new version of its delegated targets role, built from the
   store's rows and signed with the namespace's keys; a namespace seen for the
   first time gets a delegation (a fresh registry-held key, threshold 1); a
   large namespace is split into hashed bins, and only changed bins are signed
   (:mod:`registry.tuf.bins`);
2. the top-level ``targets`` gets a new version if a delegation changed (or it
   is due), signed with the online key;
3. ``snapshot`` and then ``timestamp`` get new versions if anything under them
   changed or they are due.

Everything commits together or not at all; a change mark is cleared only if it
was not bumped meanwhile. A namespace whose keys the store cannot meet is left
as it was (its old metadata stays valid until it expires), reported, and retried
at the next publication: one broken namespace never freezes the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]
from sqlalchemy.ext.asyncio import AsyncSession
from tuf.api.metadata import (  # type: ignore[attr-defined]  # re-exported
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    Targets,
    Timestamp,
)

from registry.db.types import utcnow
from registry.errors import ConfigurationError, RegistryError
from registry.settings import Settings
from registry.tuf import bins, catalog, queries
from registry.tuf.bins import Binning
from registry.tuf.errors import TufNotInitialised
from registry.tuf.keys import KeyStore

log = logging.getLogger("registry.tuf")

TOP_LEVEL = ("root", "targets", "snapshot", "timestamp")


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """How long each role's metadata is valid; re-signed once half of it has passed."""

    root: timedelta
    targets: timedelta
    snapshot: timedelta
    timestamp: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Lifetimes:
        values = {
            "root": settings.tuf.root_expiry_seconds,
            "targets": settings.tuf.targets_expiry_seconds,
            "snapshot": settings.tuf.snapshot_expiry_seconds,
            "timestamp": settings.tuf.timestamp_expiry_seconds,
        }
        for role, seconds in values.items():
            if seconds < 2:
                raise ConfigurationError(
                    f"CUSTODY_TUF_{role.upper()}_EXPIRY_SECONDS must be at least 2, got {seconds}"
                )
        return cls(**{role: timedelta(seconds=s) for role, s in values.items()})

    def of(self, role: str) -> timedelta:
        """Delegated (namespace) roles live as long as the top-level targets."""
        return {
            "root": self.root,
            "snapshot": self.snapshot,
            "timestamp": self.timestamp,
        }.get(role, self.targets)

    def due(self, role: str, expires: datetime) -> datetime:
        """When ``role``'s metadata expiring at ``expires`` should be re-signed."""
        return expires - self.of(role) / 2


@dataclass
class Publication:
    """What one publication did."""

    #: role -> the version just published
    published: dict[str, int] = field(default_factory=dict)
    #: namespace -> why its role could not be published
    failures: dict[str, str] = field(default_factory=dict)
    #: the earliest time some role must be re-signed
    next_due: datetime | None = None


def delegated_paths(namespace: str) -> list[str]:
    """A namespace's role covers exactly its own four-segment target paths."""
    return [f"{namespace}/*/*/*"]


def signers_for(keys: KeyStore, role: str, signer_of: Root | Targets) -> list[CryptoSigner]:
    """Every held signer of ``role`` as delegated by ``signer_of`` (threshold enforced)."""
    delegation = signer_of.get_delegated_role(role)
    public = [signer_of.get_key(keyid) for keyid in delegation.keyids]
    return keys.signers(role, public, delegation.threshold)


def sign(metadata: Metadata[Any], keys: KeyStore, role: str, signer_of: Root | Targets) -> None:
    """Sign with every held key of ``role`` as delegated by ``signer_of`` (threshold enforced)."""
    apply_signatures(metadata, signers_for(keys, role, signer_of))


def apply_signatures(metadata: Metadata[Any], signers: list[CryptoSigner]) -> None:
    metadata.signatures.clear()
    for signer in signers:
        metadata.sign(signer, append=True)


@dataclass
class _NamespaceOutcome:
    published: dict[str, int] = field(default_factory=dict)
    #: bins of a previous layout, no longer listed in the snapshot
    dropped: list[str] = field(default_factory=list)
    delegation_added: bool = False


class Publisher:
    def __init__(
        self,
        keys: KeyStore,
        lifetimes: Lifetimes,
        root_keys: KeyStore | None = None,
        binning: Binning | None = None,
    ) -> None:
        self.keys = keys
        self.lifetimes = lifetimes
        #: Root keys are used only by ``custody tuf`` (never by a publication).
        self.root_keys = root_keys or keys
        self.binning = binning or Binning(threshold=0)

    async def publish(
        self,
        session: AsyncSession,
        *,
        rebuild: frozenset[str] = frozenset(),
        resign_all: bool = False,
        now: datetime | None = None,
    ) -> Publication:
        """Publish what changed; the caller holds the lock and commits.

        ``rebuild`` names namespaces whose every role (bins included) is re-signed.
        """
        now = now or utcnow()
        result = Publication()
        root_md = await queries.latest(session, "root")
        if root_md is None:
            raise TufNotInitialised("the TUF repository is not initialised: run 'custody tuf init'")
        root: Root = root_md.signed
        newest = await queries.latest_versions(session)
        targets_md = await queries.latest(session, "targets")
        if targets_md is None:
            # Version 1 is counted up to below, like every later version.
            targets = Targets(version=1, expires=now, delegations=Delegations(keys={}, roles={}))
            targets.version = 0
            targets_changed = True
        else:
            targets = targets_md.signed
            targets_changed = resign_all or self._is_due("targets", newest, now)
        assert targets.delegations is not None and targets.delegations.roles is not None
        roles = targets.delegations.roles
        snapshot_md = await queries.latest(session, "snapshot")
        # The roles clients can reach now: namespace roles and bins, with their versions.
        listed: dict[str, int] = {}
        if snapshot_md is not None:
            listed = {
                n.removesuffix(".json"): m.version for n, m in snapshot_md.signed.meta.items()
            }
        listed.pop("targets", None)

        pending = await queries.pending_namespaces(session)
        due = {r for r in listed if resign_all or self._is_due(r, newest, now)}
        forced = set(rebuild) | (set(roles) if resign_all else set())
        wanted = set(pending) | forced | {bins.namespace_of(r) for r in due}
        cleared: list[str] = []
        dropped: set[str] = set()
        for namespace in sorted(wanted):
            try:
                done = await self._publish_namespace(
                    session, targets, namespace, newest, listed, now, namespace in forced, due
                )
            except RegistryError as exc:
                log.error("TUF role %s not published: %s", namespace, exc.diagnostics())
                result.failures[namespace] = exc.diagnostics()
                continue
            cleared.append(namespace)
            if done is None:  # nothing to publish for it (no such namespace)
                continue
            result.published.update(done.published)
            dropped.update(done.dropped)
            targets_changed |= done.delegation_added

        if targets_changed:
            targets.version += 1
            targets.expires = now + self.lifetimes.targets
            await self._append(session, "targets", Metadata(targets), root, newest, result)

        if (
            snapshot_md is None
            or targets_changed
            or result.published
            or resign_all
            or self._is_due("snapshot", newest, now)
        ):
            for role in dropped:
                listed.pop(role, None)
            listed.update({r: v for r, v in result.published.items() if r not in TOP_LEVEL})
            meta = {f"{r}.json": MetaFile(version=v) for r, v in sorted(listed.items())}
            meta["targets.json"] = MetaFile(version=newest["targets"][0])
            previous = 0 if snapshot_md is None else snapshot_md.signed.version
            snapshot = Snapshot(
                version=previous + 1, expires=now + self.lifetimes.snapshot, meta=meta
            )
            await self._append(session, "snapshot", Metadata(snapshot), root, newest, result)

        if "snapshot" in result.published or resign_all or self._is_due("timestamp", newest, now):
            timestamp_row = newest.get("timestamp")
            timestamp = Timestamp(
                version=(timestamp_row[0] if timestamp_row else 0) + 1,
                expires=now + self.lifetimes.timestamp,
                snapshot_meta=MetaFile(version=newest["snapshot"][0]),
            )
            await self._append(session, "timestamp", Metadata(timestamp), root, newest, result)

        for namespace in cleared:
            if namespace in pending:
                await queries.clear_pending(session, namespace, pending[namespace])
        current = set(listed) | {"targets", "snapshot", "timestamp"}
        result.next_due = min(
            (self.lifetimes.due(r, newest[r][1]) for r in current if r in newest),
            default=None,
        )
        return result

    def _is_due(self, role: str, newest: dict[str, tuple[int, datetime]], now: datetime) -> bool:
        found = newest.get(role)
        return found is not None and now >= self.lifetimes.due(role, found[1])

    async def _append(
        self,
        session: AsyncSession,
        role: str,
        metadata: Metadata[Any],
        root: Root,
        newest: dict[str, tuple[int, datetime]],
        result: Publication,
    ) -> None:
        sign(metadata, self.keys, role, root)
        await queries.append(session, role, metadata)
        newest[role] = (metadata.signed.version, metadata.signed.expires)
        result.published[role] = metadata.signed.version

    async def _store_role(
        self,
        session: AsyncSession,
        role: str,
        signed: Targets,
        signers: list[CryptoSigner],
        newest: dict[str, tuple[int, datetime]],
        now: datetime,
        fingerprint: str | None = None,
    ) -> int:
        """Sign and store the next version of a delegated role."""
        signed.version = newest.get(role, (0, now))[0] + 1
        signed.expires = now + self.lifetimes.targets
        metadata = Metadata(signed)
        apply_signatures(metadata, signers)
        await queries.append(session, role, metadata, fingerprint)
        newest[role] = (signed.version, signed.expires)
        return signed.version

    async def _publish_namespace(
        self,
        session: AsyncSession,
        targets: Targets,
        namespace: str,
        newest: dict[str, tuple[int, datetime]],
        listed: dict[str, int],
        now: datetime,
        force: bool,
        due: set[str],
    ) -> _NamespaceOutcome | None:
        """Publish one namespace's role (and bins); ``None`` if there is no such namespace."""
        assert targets.delegations is not None and targets.delegations.roles is not None
        roles = targets.delegations.roles
        outcome = _NamespaceOutcome()
        if namespace not in roles:
            if namespace in TOP_LEVEL:
                log.warning("namespace %r has a TUF top-level role's name: no role", namespace)
                return None
            if not await queries.namespace_exists(session, namespace):
                return None
            roles[namespace] = DelegatedRole(
                name=namespace,
                keyids=[],
                threshold=1,
                terminating=True,
                paths=delegated_paths(namespace),
            )
            targets.add_key(self.keys.generate(), namespace)
            outcome.delegation_added = True
        # Keys first: a namespace that cannot be signed costs no catalog query.
        signers = signers_for(self.keys, namespace, targets)
        entries = await catalog.namespace_targets(session, namespace)
        had = bins.current_bits(namespace, listed)
        bits = self.binning.bits_for(len(entries), had)
        if bits == 0:
            outcome.published[namespace] = await self._store_role(
                session, namespace, Targets(targets=entries), signers, newest, now
            )
            return outcome

        delegation = roles[namespace]
        succinct = bins.layout(namespace, delegation.keyids, delegation.threshold, bits)
        relaid = bits != had
        if force or relaid or namespace in due or namespace not in listed:
            keys = {k: targets.delegations.keys[k] for k in delegation.keyids}
            parent = Targets(delegations=Delegations(keys=keys, succinct_roles=succinct))
            outcome.published[namespace] = await self._store_role(
                session, namespace, parent, signers, newest, now
            )
        if relaid:
            outcome.dropped = bins.bins_of(namespace, listed)
        grouped = bins.group(entries, succinct)
        previous = await queries.fingerprints(
            session, {name: newest[name][0] for name in grouped if name in newest}
        )
        for name, members in grouped.items():
            fingerprint = bins.fingerprint(members)
            unchanged = name in listed and previous.get(name) == fingerprint
            if force or relaid or name in due or not unchanged:
                outcome.published[name] = await self._store_role(
                    session, name, Targets(targets=members), signers, newest, now, fingerprint
                )
        return outcome
