"""The policy API's response body."""

from __future__ import annotations

from datetime import datetime

import msgspec


class PolicyStatus(msgspec.Struct, kw_only=True):
    trust_policy: str
    admission_policy: str
    trust_policy_file: str | None
    admission_policy_file: str | None
    loaded_at: datetime | None
    last_reload_error: str | None
