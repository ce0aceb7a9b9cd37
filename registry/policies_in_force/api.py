"""``/api/v1/policies``: what is in force, and reload.

The dry-run promotion check reads models: it lives in :mod:`registry.lifecycle.promotion_check`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from litestar import Controller, get, post

from registry.audit.service import record
from registry.auth.deps import Caller
from registry.errors import RegistryError
from registry.http.deps import AppServices, DbSession
from registry.http.openapi import TOKEN, problems
from registry.policies_in_force.holder import PolicyHolder
from registry.policies_in_force.schemas import PolicyStatus

__all__ = ["PolicyController", "install_reload_signal"]

_logger = logging.getLogger(__name__)


def policy_status(holder: PolicyHolder) -> PolicyStatus:
    current = holder.current
    return PolicyStatus(
        trust_policy=current.trust_digest,
        admission_policy=current.admission_digest,
        trust_policy_file=str(holder.trust_path) if holder.trust_path else None,
        admission_policy_file=str(holder.admission_path) if holder.admission_path else None,
        loaded_at=current.loaded_at,
        last_reload_error=holder.last_error,
    )


def install_reload_signal(holder: PolicyHolder, on_reload: Callable[[], None]) -> None:
    """``kill -HUP <pid>`` reloads the policies (only where the loop owns signals)."""

    def _reload() -> None:
        # A failure is logged by the holder and the previous policy stays in force.
        with contextlib.suppress(RegistryError):
            holder.reload()
            on_reload()

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, _reload)
    except (RuntimeError, ValueError):  # RuntimeError also covers "no signal support"
        _logger.debug("SIGHUP reload not available in this thread; use the API or CLI")


class PolicyController(Controller):
    path = "/api/v1"
    tags = ["policies"]

    @get(
        "/policies",
        summary="The policies in force (content digests) and the last reload error",
        security=TOKEN,
        responses=problems(401, 403),
    )
    async def get_policies(self, services: AppServices, principal: Caller) -> PolicyStatus:
        principal.require_site_admin()
        return policy_status(services.policies)

    @post(
        "/policies/reload",
        status_code=200,
        summary="Re-read the policy files",
        security=TOKEN,
        responses=problems(401, 403, 422),
    )
    async def reload_policies(
        self, services: AppServices, principal: Caller, db_session: DbSession
    ) -> PolicyStatus:
        principal.require_site_admin()
        holder = services.policies
        holder.reload()  # raises PolicyReloadFailed (422) and keeps the previous set
        services.manifest_cache.clear()  # aliases resolve under the new policy now
        await record(
            db_session,
            actor=principal.actor,
            action="policy.reload",
            subject="policies",
            detail=dict(holder.current.describe()),
        )
        await db_session.commit()
        return policy_status(holder)
