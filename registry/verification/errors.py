"""The errors policy decisions raise: a refused promotion or push, a blocked alias."""

from __future__ import annotations

from registry.errors import Conflict, RegistryError

__all__ = ["AdmissionRefused", "AliasBlocked", "PromotionRefused"]


class PromotionRefused(Conflict):
    title = "Promotion refused by policy"


class AdmissionRefused(Conflict):
    title = "Push refused by admission policy"


class AliasBlocked(RegistryError):
    """A strict namespace's alias whose version no longer satisfies policy (Harbor answers 412)."""

    status_code = 412
    code = "DENIED"
    title = "Alias blocked by policy"
