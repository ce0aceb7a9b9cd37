"""Request and response bodies of ``/api/v1/namespaces`` (msgspec, hand-written)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from registry.sizes import MAX_BYTES

QuotaBytes = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=MAX_BYTES,
        description="Storage quota in bytes (blobs counted once per namespace, plus manifests)",
    ),
]


class NamespaceView(msgspec.Struct):
    name: str
    anonymous_pull: bool
    created_at: datetime
    #: ``null``: unlimited.
    quota_bytes: int | None
    #: Distinct blobs linked into the namespace's repositories, once each, plus its manifests.
    used_bytes: int


class NamespaceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """What to change; a field left out is left as it is. ``quota_bytes: null`` removes the
    quota (unlimited); changing the quota takes a site admin token."""

    anonymous_pull: bool | msgspec.UnsetType = msgspec.UNSET
    quota_bytes: QuotaBytes | msgspec.UnsetType | None = msgspec.UNSET
