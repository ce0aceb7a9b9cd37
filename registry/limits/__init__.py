"""Rate limits per API token and per client address, and the download budget.

:mod:`registry.limits.service` counts (and says why it uses the ``limits`` library);
:mod:`registry.limits.middleware` applies the per-request limits to every request.
"""

from registry.limits.service import READ_METHODS, RateLimits

__all__ = ["READ_METHODS", "RateLimits"]
