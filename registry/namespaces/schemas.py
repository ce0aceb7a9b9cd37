"""Request and response bodies of ``/api/v1/namespaces`` (msgspec, hand-written)."""

from __future__ import annotations

from datetime import datetime

import msgspec


class NamespaceView(msgspec.Struct):
    name: str
    anonymous_pull: bool
    created_at: datetime


class NamespaceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    anonymous_pull: bool
