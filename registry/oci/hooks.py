"""What the OCI store asks and tells the slices above it when manifests and tags change.

The OCI data model (manifests, tags, blob links) is the bottom domain layer: it
imports none of the slices that care about its changes. They register here
instead, wired by :func:`registry.app.create_app` into one :class:`OciHooks`:

- :class:`ManifestAdmission`: before a manifest is stored (admission policy; may refuse);
- :class:`ManifestStored`: after a new manifest is stored (SBOM ingest, signature verification);
- :class:`PromotionGate`: before an alias moves or is removed (promotion policy; may refuse);
- :class:`AliasRead`: before an alias is answered (strict namespaces; may refuse);
- :class:`TagsChanged`: after a namespace's versions or aliases changed (TUF marks);
- :class:`ReferencesDropped`: when manifests, tags or blob links go away, or a blob or
  manifest arrives that nothing references yet (garbage collection's review queue).

Every hook runs in the caller's transaction: what it writes commits or rolls back
with the change that called it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from registry.auth import Principal
from registry.db.models import Manifest, Repository
from registry.oci.manifests import ParsedManifest


@dataclass(frozen=True, slots=True)
class AliasMove:
    repository: Repository
    alias: str
    current: Manifest | None
    #: ``None`` when the alias is being removed.
    target: Manifest | None
    principal: Principal


class PromotionGate(Protocol):
    """Every path that moves an alias — ``PUT /api/v1/.../aliases/{alias}``, an OCI client
    pushing a non-version tag, deleting a manifest an alias points at — calls :meth:`check`."""

    async def check(self, session: AsyncSession, move: AliasMove) -> None:
        """Return to allow the move; raise a :class:`~registry.errors.RegistryError` to refuse."""
        ...


class ManifestAdmission(Protocol):
    async def admit(
        self, session: AsyncSession, *, repository: str, parsed: ParsedManifest, actor: str
    ) -> None:
        """Return to let the manifest be stored; raise to refuse the push."""
        ...


class ManifestStored(Protocol):
    async def manifest_stored(
        self,
        session: AsyncSession,
        *,
        repository: Repository,
        manifest: Manifest,
        parsed: ParsedManifest,
        actor: str,
    ) -> None:
        """Called once, when ``manifest`` is new in ``repository``."""
        ...


class AliasRead(Protocol):
    async def check_alias_read(
        self, session: AsyncSession, *, repository: Repository, alias: str, target: Manifest
    ) -> None:
        """Return to answer the alias with ``target``; raise to refuse it."""
        ...


class TagsChanged(Protocol):
    async def tags_changed(self, session: AsyncSession, namespace: str) -> None:
        """A version was created, or an alias moved or removed, in ``namespace``."""
        ...


@dataclass(frozen=True, slots=True)
class Unreferenced:
    """Blobs and manifests that may have lost their last reference, or never had one."""

    #: What happened: ``manifest.delete``, ``alias.move``, ``blob.unlink``, ``blob.upload`` ...
    reason: str
    #: The repository the manifests are in (manifests are per repository; blobs are not).
    repository_id: int | None = None
    manifests: tuple[str, ...] = ()
    blobs: tuple[str, ...] = ()


class ReferencesDropped(Protocol):
    async def references_dropped(self, session: AsyncSession, change: Unreferenced) -> None:
        """Note ``change`` in the caller's transaction; deciding what goes is for later."""
        ...


@dataclass(frozen=True, slots=True)
class OciHooks:
    """The hooks of one application, as :func:`registry.app.create_app` wires them."""

    gate: PromotionGate
    admission: ManifestAdmission
    alias_read: AliasRead
    on_stored: tuple[ManifestStored, ...] = ()
    on_tags_changed: tuple[TagsChanged, ...] = ()
    on_references_dropped: tuple[ReferencesDropped, ...] = ()

    async def manifest_stored(
        self,
        session: AsyncSession,
        *,
        repository: Repository,
        manifest: Manifest,
        parsed: ParsedManifest,
        actor: str,
    ) -> None:
        for listener in self.on_stored:
            await listener.manifest_stored(
                session, repository=repository, manifest=manifest, parsed=parsed, actor=actor
            )

    async def tags_changed(self, session: AsyncSession, namespace: str) -> None:
        for listener in self.on_tags_changed:
            await listener.tags_changed(session, namespace)

    async def references_dropped(self, session: AsyncSession, change: Unreferenced) -> None:
        if not (change.manifests or change.blobs):
            return
        for listener in self.on_references_dropped:
            await listener.references_dropped(session, change)
