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


class SignatureEvidence(msgspec.Struct):
    """One signature verdict behind a node of the provenance graph."""

    #: ``verified``, ``failed`` or ``unsigned``.
    outcome: str
    signer: str | None = None
    #: The check that failed (a stable reason code), when ``outcome`` is ``failed``.
    failed_check: str | None = None
    reason: str = ""
    #: ``now`` (re-verified under today's trust policy) or ``registration`` (checked when
    #: the hub recorded it; the hub records nothing whose signature failed).
    checked: str = "registration"


class NodeEvidence(msgspec.Struct):
    """A node of the provenance graph with its evidence: its verdict and its log entry."""

    #: ``model``, ``latent``, ``output`` or ``reprint``.
    node: str
    #: The digest the node stands for: version manifest, latent record, image.
    subject: str
    verdict: SignatureEvidence
    #: The model version's signatures, one verdict each (it may have several); empty for
    #: the other nodes, whose one verdict is ``verdict``.
    signatures: list[SignatureEvidence]
    #: The node's own transparency-log entry (``None``: not logged on its own).
    log_index: int | None = None
    #: A latent record's step index.
    step: int | None = None


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
    #: The graph's nodes in order (model, latent records root first, output, reprints),
    #: each with its signature verdict and log entry.
    evidence: list[NodeEvidence] = msgspec.field(default_factory=list)


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
