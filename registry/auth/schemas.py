"""Request and response bodies of ``/api/v1/tokens`` (msgspec, hand-written)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

NamespaceName = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class TokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    namespace: NamespaceName
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=4)]
    #: ``90d``, ``12h``, ``never``; the registry default when absent.
    expires_in: str | None = None
    description: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class TokenIssued(msgspec.Struct):
    id: str
    token: str
    namespace: str
    scopes: list[str]
    expires_at: datetime | None


class TokenView(msgspec.Struct):
    id: str
    namespace: str
    scopes: list[str]
    description: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenList(msgspec.Struct):
    tokens: list[TokenView]
