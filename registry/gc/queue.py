"""The review queue: entries to re-check once their delay has passed.

Queueing is cheap and may repeat: the collector re-checks every entry inside its
own transaction, so a duplicate or an entry for something referenced again is
simply dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Literal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.models import GcReview
from registry.db.types import utcnow

Kind = Literal["blob", "manifest"]


async def enqueue(
    session: AsyncSession,
    digests: Iterable[str],
    *,
    kind: Kind,
    reason: str,
    delay: timedelta,
    repository_id: int | None = None,
) -> int:
    """Queue ``digests`` for review after ``delay`` in the caller's transaction; count them."""
    now = utcnow()
    rows = [
        {
            "kind": kind,
            "digest": digest,
            "repository_id": repository_id,
            "reason": reason[:64],
            "queued_at": now,
            "review_after": now + delay,
        }
        for digest in dict.fromkeys(digests)
    ]
    if rows:
        await session.execute(insert(GcReview), rows)
    return len(rows)
