"""Response bodies of ``/api/v1/audit`` (msgspec, hand-written)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class AuditEventView(msgspec.Struct):
    id: int
    occurred_at: datetime
    actor: str
    action: str
    namespace: str | None
    subject: str
    detail: dict[str, Any]


class AuditPage(msgspec.Struct):
    events: list[AuditEventView]
    #: Pass as ``after`` to get the next (newer) page; ``None`` at the end.
    next_after: int | None
    #: Pass as ``before`` to get the previous (older) page; ``None`` at the start.
    prev_before: int | None = None
