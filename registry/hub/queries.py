"""Reading and writing the hub's rows.

The ledger's row callbacks run on the log writer's synchronous connection: the
statements they run are built once here (``earlier_*``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import HubOutput, HubReprint

OUTPUTS: Table = HubOutput.__table__  # type: ignore[assignment]
REPRINTS: Table = HubReprint.__table__  # type: ignore[assignment]

#: An earlier registration of the image (a constant statement: compiled once).
_EARLIER_OUTPUT = select(HubOutput.claim_digest, HubOutput.log_index, HubOutput.creator).where(
    HubOutput.image_digest == bindparam("image")
)
#: Earlier reprints of the same image by the same party (a constant statement).
_EARLIER_REPRINTS = select(HubReprint.id, HubReprint.use).where(
    HubReprint.output_id == bindparam("output"),
    HubReprint.image_digest == bindparam("image"),
    HubReprint.reprinter == bindparam("reprinter"),
    HubReprint.requested_by == bindparam("requested_by"),
)


def earlier_output(writing: Connection, image_digest: str) -> Row[str, int, str] | None:
    """(claim_digest, log_index, creator) of an earlier registration of the image."""
    return writing.execute(_EARLIER_OUTPUT, {"image": image_digest}).first()


def earlier_reprints(
    writing: Connection, *, output_id: int, image_digest: str, reprinter: str, requested_by: str
) -> list[tuple[int, dict[str, bool]]]:
    """(id, use) of the earlier reprints of the image by the same party."""
    rows = writing.execute(
        _EARLIER_REPRINTS,
        {
            "output": output_id,
            "image": image_digest,
            "reprinter": reprinter,
            "requested_by": requested_by,
        },
    )
    return [(reprint_id, use) for reprint_id, use in rows]


async def reprint(session: AsyncSession, reprint_id: int) -> HubReprint | None:
    return await session.get(HubReprint, reprint_id)


async def output_by_image(session: AsyncSession, image_digest: str) -> HubOutput | None:
    found: HubOutput | None = await session.scalar(
        select(HubOutput).where(HubOutput.image_digest == image_digest)
    )
    return found


async def outputs_by_c2pa_label(session: AsyncSession, labels: Sequence[str]) -> list[HubOutput]:
    if not labels:
        return []
    rows = await session.scalars(select(HubOutput).where(HubOutput.c2pa_label.in_(labels)))
    return list(rows)


async def outputs_by_image(session: AsyncSession, digests: Sequence[str]) -> list[HubOutput]:
    if not digests:
        return []
    rows = await session.scalars(select(HubOutput).where(HubOutput.image_digest.in_(digests)))
    return list(rows)


async def reprints_of(session: AsyncSession, output: HubOutput) -> list[HubReprint]:
    rows = await session.scalars(
        select(HubReprint).where(HubReprint.output_id == output.id).order_by(HubReprint.id)
    )
    return list(rows)


async def outputs_by_model(
    session: AsyncSession, model: str, model_digest: str, *, after: int, limit: int
) -> list[HubOutput]:
    """Outputs registered against one model version, in log order (keyset after a log index)."""
    rows = await session.scalars(
        select(HubOutput)
        .where(
            HubOutput.model == model,
            HubOutput.model_digest == model_digest,
            HubOutput.log_index > after,
        )
        .order_by(HubOutput.log_index)
        .limit(limit)
    )
    return list(rows)
