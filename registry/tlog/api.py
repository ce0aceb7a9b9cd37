"""``/api/v1/log/``: the public, read-only face of the transparency log.

Anyone may read it without credentials: a transparency log is only useful if
anyone can audit it. Writes happen only through the hub, in-process.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated

from litestar import Controller, MediaType, Response, get
from litestar.params import QueryParameter

from registry.http.deps import AppServices
from registry.http.openapi import PUBLIC, problems
from registry.http.params import Index as Size
from registry.http.params import OptionalIndex as OptionalSize
from registry.tlog.errors import LogRequestInvalid
from registry.tlog.schemas import ConsistencyProofView, EntriesView, EntryView, InclusionProofView

_HEX_HASH = re.compile(r"^[0-9a-fA-F]{64}\Z")


class LogController(Controller):
    path = "/api/v1/log"
    tags = ["transparency log"]

    @get(
        "/checkpoint",
        summary="The latest checkpoint (C2SP signed note)",
        media_type=MediaType.TEXT,
        security=PUBLIC,
    )
    async def checkpoint(self, services: AppServices) -> Response[str]:
        latest = await services.tlog.checkpoint()
        return Response(
            latest.note,
            media_type=MediaType.TEXT,  # Litestar adds the charset itself
            headers={"Cache-Control": "no-cache"},
        )

    @get(
        "/key",
        summary="The log's verifier key (pin it out of band)",
        media_type=MediaType.TEXT,
        security=PUBLIC,
    )
    async def verifier_key(self, services: AppServices) -> Response[str]:
        return Response(services.tlog.verifier_key + "\n", media_type=MediaType.TEXT)

    @get(
        "/proof/inclusion",
        summary="Inclusion proof by index or by leaf hash",
        security=PUBLIC,
        responses=problems(400, 404),
    )
    async def inclusion(
        self,
        services: AppServices,
        index: OptionalSize = None,
        leaf_hash: Annotated[str | None, QueryParameter(max_length=64)] = None,
        tree_size: OptionalSize = None,
    ) -> InclusionProofView:
        tlog = services.tlog
        if (index is None) == (leaf_hash is None):
            raise LogRequestInvalid("give exactly one of index and leaf_hash")
        if leaf_hash is not None:
            if not _HEX_HASH.match(leaf_hash):
                raise LogRequestInvalid("leaf_hash must be 64 hex digits (SHA-256)")
            proof = await tlog.inclusion_proof_by_leaf(bytes.fromhex(leaf_hash), tree_size)
        else:
            assert index is not None
            proof = await tlog.inclusion_proof(index, tree_size)
        return InclusionProofView(
            log_index=proof.index,
            tree_size=proof.tree_size,
            leaf_hash=proof.leaf_hash.hex(),
            root_hash=base64.b64encode(proof.root_hash).decode(),
            inclusion_proof=[h.hex() for h in proof.hashes],
        )

    @get(
        "/proof/consistency",
        summary="Consistency proof between two tree sizes",
        security=PUBLIC,
        responses=problems(400),
    )
    async def consistency(
        self, services: AppServices, first: Size, second: Size
    ) -> ConsistencyProofView:
        proof = await services.tlog.consistency_proof(first, second)
        return ConsistencyProofView(
            first=proof.first,
            second=proof.second,
            consistency_proof=[h.hex() for h in proof.hashes],
        )

    @get(
        "/entries",
        summary="Entries start (inclusive) to end (exclusive), at most 1000",
        security=PUBLIC,
        responses=problems(400),
    )
    async def entries(self, services: AppServices, start: Size, end: Size) -> EntriesView:
        rows = await services.tlog.entries(start, end)
        return EntriesView(
            entries=[
                EntryView(
                    log_index=row.index,
                    leaf_hash=row.leaf_hash.hex(),
                    body=base64.b64encode(row.body).decode(),
                    integrated_time=row.integrated_time.isoformat().replace("+00:00", "Z"),
                )
                for row in rows
            ]
        )
