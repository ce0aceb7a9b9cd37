"""Reading and writing the hub's rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import HubOutput, HubReprint


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
