"""Request and response bodies of the reprint hub API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

Identity = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class ReprintRequestBody(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The ``request`` part of ``POST /api/v1/reprints``."""

    reprinter: Identity
    commercial: bool = False
    derivative: bool = False
    attribution: bool = True


class ModelView(msgspec.Struct):
    reference: str
    digest: str
    #: The version tag of that digest (None if the version is gone from the registry).
    version: str | None
    #: Whether a signature of the version verifies under today's trust policy.
    signature_verified: bool
    signers: list[str]


class ReprintView(msgspec.Struct):
    image_digest: str
    via: str
    reprinter: str
    created_at: datetime
    log_index: int


class Registration(msgspec.Struct):
    """The answer to a registration: what was recorded and the log's receipt."""

    image_digest: str
    kind: str
    creator: str
    model: str
    license: str
    terms: list[str]
    registered_at: datetime
    log_index: int
    leaf_hash: str
    #: False when only the digest was sent: the hub never saw the bytes.
    image_checked: bool
    receipt: dict[str, Any]
    #: The logged entry (canonical JSON) the receipt's leaf hash covers.
    entry: str


class Attribution(msgspec.Struct):
    """``GET /api/v1/outputs/{digest}``."""

    image_digest: str
    kind: str
    creator: str
    model: ModelView
    license: str
    terms: list[str]
    first_registered_at: datetime
    log_index: int
    leaf_hash: str
    chain: dict[str, Any]
    reprints: list[ReprintView]
    receipt: dict[str, Any]
    entry: str


class ReprintGranted(msgspec.Struct):
    """The answer to an accepted reprint: the hub-signed statement and both log receipts."""

    statement: dict[str, Any]
    original: str
    image_digest: str
    via: str
    log_index: int
    receipt: dict[str, Any]
    entry: str
    registration_receipt: dict[str, Any]


class HubKey(msgspec.Struct):
    key_id: str
    public_key_pem: str
    statement_type: str


class OutputSummary(msgspec.Struct):
    image_digest: str
    kind: str
    creator: str
    license: str
    terms: list[str]
    registered_at: datetime
    log_index: int
    #: False when only the digest was sent: the hub never saw the bytes.
    image_checked: bool


class OutputList(msgspec.Struct):
    """``GET /api/v1/outputs?model=&digest=``: what a model version made, in log order."""

    outputs: list[OutputSummary]
    #: Pass as ``after`` for the next page; ``None`` at the end.
    next_after: int | None
