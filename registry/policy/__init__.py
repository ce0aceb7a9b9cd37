"""Declarative policy in the registry: the trust policy and the admission policy, reloadable."""

from registry.policy.admission import AdmissionPolicy, AliasRequirement, NamespaceAdmission
from registry.policy.holder import PolicyHolder, PolicyReloadFailed, PolicySet

__all__ = [
    "AdmissionPolicy",
    "AliasRequirement",
    "NamespaceAdmission",
    "PolicyHolder",
    "PolicyReloadFailed",
    "PolicySet",
]
