"""The error a failed policy reload answers with."""

from __future__ import annotations

from registry.errors import RegistryError

__all__ = ["PolicyReloadFailed"]


class PolicyReloadFailed(RegistryError):
    status_code = 422
    code = "UNSUPPORTED"
    title = "Policy reload failed; the previous policy stays in force"
