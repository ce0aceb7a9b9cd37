"""Demo content on first start: a signed, verified, promoted model and a registered image.

``make run`` sets ``CUSTODY_DEMO=1``; ``custody serve`` then seeds the namespace ``demo``
when the registry is empty and no policy file is configured (see :mod:`registry.demo.seed`).
``custody demo remove`` takes it out again (:mod:`registry.demo.remove`).
"""

from registry.demo.seed import DEMO_NAMESPACE, demo_dir, demo_policies

__all__ = ["DEMO_NAMESPACE", "demo_dir", "demo_policies"]
