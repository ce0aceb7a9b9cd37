"""The policies the registry decides under: the trust and admission policies in force, reloadable.

:mod:`~registry.policies_in_force.holder` loads both files and swaps them
atomically on reload; :mod:`~registry.policies_in_force.api` serves
``/api/v1/policies``. The admission-policy language itself is
:mod:`registry.admission_policy`, the trust-policy language
:mod:`verifier.trust_policy_file`.
"""

from registry.policies_in_force.errors import PolicyReloadFailed
from registry.policies_in_force.holder import PolicyHolder, PolicySet

__all__ = ["PolicyHolder", "PolicyReloadFailed", "PolicySet"]
