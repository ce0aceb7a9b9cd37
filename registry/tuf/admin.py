"""Repository administration behind ``custody tuf``: init, rotations, namespace keys, re-signing.

Each operation runs in the caller's transaction with the publisher lock taken
first, and ends with a publication, so clients see the change at their next
refresh. Keys that an operation replaces are returned, to be retired from the
key store only after the transaction commits (never before: a failed commit
must leave the old keys usable).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime

from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]
from sqlalchemy.ext.asyncio import AsyncSession
from tuf.api.metadata import Metadata, Root  # type: ignore[attr-defined]  # re-exported

from registry.db.types import utcnow
from registry.tuf import queries
from registry.tuf.changes import namespace_changed
from registry.tuf.errors import (
    RoleUnknown,
    ThresholdInvalid,
    TufAlreadyInitialised,
    TufNotInitialised,
)
from registry.tuf.publisher import Publication, Publisher, sign, signers_for

ONLINE_ROLES = ("targets", "snapshot", "timestamp")


@dataclass
class Outcome:
    publication: Publication
    root_version: int
    #: private keys no role uses any more: retire them after the commit
    retired: list[str] = field(default_factory=list)


async def _root(session: AsyncSession) -> Metadata[Root]:
    root = await queries.latest(session, "root")
    if root is None:
        raise TufNotInitialised("the TUF repository is not initialised: run 'custody tuf init'")
    return root


async def initialise(session: AsyncSession, publisher: Publisher) -> Outcome:
    """Root v1 (a root key, one online key for targets/snapshot/timestamp), then publish."""
    await queries.lock(session)
    if await queries.latest_row(session, "root") is not None:
        raise TufAlreadyInitialised(
            "the TUF repository is already initialised; use rotate-root or rotate-online"
        )
    now = utcnow()
    root = Root(version=1, expires=now + publisher.lifetimes.root, consistent_snapshot=True)
    root.add_key(publisher.root_keys.generate(), "root")
    online = publisher.keys.generate()
    for role in ONLINE_ROLES:
        root.add_key(online, role)
    metadata = Metadata(root)
    sign(metadata, publisher.root_keys, "root", root)
    await queries.append(session, "root", metadata)
    # Every namespace that already has versions gets its role now.
    names = await queries.namespaces_with_tags(session)
    publication = await publisher.publish(session, rebuild=frozenset(names), now=now)
    return Outcome(publication, 1)


async def _require_root_keys(session: AsyncSession, publisher: Publisher) -> None:
    """Fail before any new key is made if the current root keys are not at hand."""
    signers_for(publisher.root_keys, "root", (await _root(session)).signed)


async def _new_root(
    session: AsyncSession,
    publisher: Publisher,
    change: dict[str, list[SSlibKey]],
    now: datetime,
) -> tuple[Metadata[Root], list[str]]:
    """Root N+1 with the roles in ``change`` given new keys, signed by old and new root keys."""
    old = await _root(session)
    new = copy.deepcopy(old.signed)  # to_dict() shares lists with the original
    new.version = old.signed.version + 1
    new.expires = now + publisher.lifetimes.root
    replaced: set[str] = set()
    for role, keys in change.items():
        for keyid in list(new.roles[role].keyids):
            new.revoke_key(keyid, role)
            replaced.add(keyid)
        for key in keys:
            new.add_key(key, role)
    metadata = Metadata(new)
    signers = []
    if "root" in change:
        # The old root's threshold must sign the new root, and so must the new one's.
        old_role = old.signed.get_delegated_role("root")
        old_keys = [old.signed.get_key(k) for k in old_role.keyids]
        signers += publisher.root_keys.signers("root", old_keys, old_role.threshold)
    sign(metadata, publisher.root_keys, "root", new)
    for signer in signers:
        if signer.public_key.keyid not in metadata.signatures:
            metadata.sign(signer, append=True)
    await queries.append(session, "root", metadata)
    still_used = {k for role in new.roles.values() for k in role.keyids}
    return metadata, sorted(replaced - still_used)


async def rotate_root(session: AsyncSession, publisher: Publisher) -> Outcome:
    """A new root key; clients follow through root N+1, signed by the old and the new key."""
    await queries.lock(session)
    await _require_root_keys(session, publisher)
    now = utcnow()
    new_key = publisher.root_keys.generate()
    root, retired = await _new_root(session, publisher, {"root": [new_key]}, now)
    publication = await publisher.publish(session, now=now)
    return Outcome(publication, root.signed.version, retired)


async def rotate_online(session: AsyncSession, publisher: Publisher) -> Outcome:
    """A new online key for targets/snapshot/timestamp (root N+1), and everything re-signed."""
    await queries.lock(session)
    await _require_root_keys(session, publisher)
    now = utcnow()
    online = publisher.keys.generate()
    root, retired = await _new_root(
        session, publisher, {role: [online] for role in ONLINE_ROLES}, now
    )
    publication = await publisher.publish(session, resign_all=True, now=now)
    return Outcome(publication, root.signed.version, retired)


async def resign(session: AsyncSession, publisher: Publisher, *, include_root: bool) -> Outcome:
    """New versions of every role the registry signs (and of root, if asked)."""
    await queries.lock(session)
    now = utcnow()
    root_version = (await _root(session)).signed.version
    retired: list[str] = []
    if include_root:
        root, retired = await _new_root(session, publisher, {}, now)
        root_version = root.signed.version
    publication = await publisher.publish(session, resign_all=True, now=now)
    return Outcome(publication, root_version, retired)


async def set_namespace_keys(
    session: AsyncSession,
    publisher: Publisher,
    namespace: str,
    keys: list[SSlibKey],
    threshold: int,
) -> Outcome:
    """Give ``namespace``'s role these keys and threshold; re-sign it and the delegation."""
    await queries.lock(session)
    now = utcnow()
    root = await _root(session)
    if threshold < 1:
        raise ThresholdInvalid(f"the threshold must be at least 1, got {threshold}")
    distinct = {key.keyid: key for key in keys}
    if threshold > len(distinct):
        raise ThresholdInvalid(
            f"a threshold of {threshold} needs at least {threshold} distinct keys, "
            f"got {len(distinct)}"
        )
    held = sum(1 for keyid in distinct if publisher.keys.holds(keyid))
    if held < threshold:
        raise ThresholdInvalid(
            f"the registry holds the private half of {held} of these keys, fewer than the "
            f"threshold {threshold}: it could not sign {namespace}'s metadata"
        )
    targets_md = await queries.latest(session, "targets")
    if targets_md is None:  # pragma: no cover - initialise always publishes targets
        raise TufNotInitialised("the TUF repository has no targets metadata yet")
    targets = targets_md.signed
    # Make sure the namespace is delegated (first publication creates the delegation).
    roles = targets.delegations.roles if targets.delegations else None
    if roles is None or namespace not in roles:
        if not await queries.namespace_exists(session, namespace):
            raise RoleUnknown(f"namespace {namespace!r} does not exist")
        await namespace_changed(session, namespace)
        await publisher.publish(session, now=now)
        targets = (await queries.latest(session, "targets")).signed  # type: ignore[union-attr]
    assert targets.delegations is not None and targets.delegations.roles is not None
    role = targets.delegations.roles.get(namespace)
    if role is None:
        raise RoleUnknown(f"namespace {namespace!r} cannot have a TUF role")
    replaced = [k for k in role.keyids if k not in distinct]
    for keyid in list(role.keyids):
        targets.revoke_key(keyid, namespace)
    for key in distinct.values():
        targets.add_key(key, namespace)
    role.threshold = threshold
    targets.version += 1
    targets.expires = now + publisher.lifetimes.targets
    metadata = Metadata(targets)
    sign(metadata, publisher.keys, "targets", root.signed)
    await queries.append(session, "targets", metadata)
    publication = await publisher.publish(session, rebuild=frozenset({namespace}), now=now)
    publication.published["targets"] = targets.version
    used = {k for r in targets.delegations.roles.values() for k in r.keyids}
    used |= {k for r in root.signed.roles.values() for k in r.keyids}
    return Outcome(publication, root.signed.version, [k for k in replaced if k not in used])


async def rotate_namespace(session: AsyncSession, publisher: Publisher, namespace: str) -> Outcome:
    """Fresh registry-held keys for ``namespace`` (same count and threshold)."""
    await queries.lock(session)
    targets_md = await queries.latest(session, "targets")
    delegations = targets_md.signed.delegations if targets_md is not None else None
    role = (delegations.roles or {}).get(namespace) if delegations is not None else None
    if role is None:
        raise RoleUnknown(
            f"namespace {namespace!r} has no TUF role yet (it gets one at its first version)"
        )
    fresh = [publisher.keys.generate() for _ in role.keyids]
    return await set_namespace_keys(session, publisher, namespace, fresh, role.threshold)


async def latest_root(session: AsyncSession) -> bytes:
    row = await queries.latest_row(session, "root")
    if row is None:
        raise TufNotInitialised("the TUF repository is not initialised: run 'custody tuf init'")
    return row.content
